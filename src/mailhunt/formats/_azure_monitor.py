"""Shared pieces of the Entra ID formats read from Azure Monitor diagnostic settings.

Entra ID's diagnostic settings send every log category to one Event Hub (messages
``{"records": [...]}``) or one storage account (``PT1H.json`` blobs, one record per line), so a
file may mix sign-ins, directory audits, provisioning, Identity Protection and Microsoft Graph
activity records. Each is the Azure Monitor resource-log envelope (``time``, ``category``,
``tenantId``, ``operationName``, ``resultType``, ``callerIpAddress``, ``location``...) around the
category's own object in ``properties`` (camelCase, the Microsoft Graph resource's names).

The formats reading them form the group :data:`GROUP`: each claims a sample holding a record of
its categories and skips (``Format.skip``) every record of another category, so that a file read
once per member stores each record in the table its category means; a record of a category no
member reads (``NetworkAccessTrafficLogs``...) is skipped by all, and so is an envelope without a
category; what is no envelope at all (a line that is not an object) no member skips, so it is
quarantined for what it lacks. Quirks shared by all categories:
the envelope ``time`` is ISO 8601, except in some Identity Protection and AD FS records, which
write it ``8/22/2022 6:11:52 PM`` (US order, UTC); category names are compared case-blind.
Not a format itself (the registry skips modules whose name starts with ``_``). References:
https://learn.microsoft.com/azure/azure-monitor/essentials/resource-logs-schema
https://learn.microsoft.com/entra/identity/monitoring-health/howto-configure-diagnostic-settings
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from mailhunt.formats.base import Format, Sample, bare_ip, utc_time

GROUP = "azure-monitor-entra"
# Higher than the generic formats' 0: an envelope record with a known category is unambiguous.
SPECIFICITY = 10

# The resource-log envelope as these formats read it (`location` is a region or country code).
ENVELOPE = {
    "time": "VARCHAR",
    "category": "VARCHAR",
    "tenantId": "VARCHAR",
    "operationName": "VARCHAR",
    "resultType": "VARCHAR",
    "resultDescription": "VARCHAR",
    "callerIpAddress": "VARCHAR",
    "location": "VARCHAR",
}

# The envelope time as some Identity Protection and AD FS records write it.
_US_TIME_FORMATS = "['%m/%d/%Y %I:%M:%S %p', '%m/%d/%Y %I:%M:%S.%g %p']"


def envelope_time(field_sql: str) -> str:
    """SQL: an envelope time, ISO 8601 or ``M/D/YYYY h:mm:ss AM/PM`` (UTC), else NULL."""
    return f"coalesce({utc_time(field_sql)}, try_strptime({field_sql}, {_US_TIME_FORMATS}))"


def client_ip(*fields_sql: str) -> str:
    """SQL: the client's address, the first non-empty of `fields_sql` (the category's own), else
    the envelope's ``callerIpAddress``; port and IPv6 brackets removed."""
    picks = [f"nullif({field}, '')" for field in (*fields_sql, "callerIpAddress")]
    return bare_ip(picks[0] if len(picks) == 1 else f"coalesce({', '.join(picks)})")


def _sql_list(categories: Collection[str]) -> str:
    for category in categories:
        if not category.isidentifier():
            raise ValueError(f"not a category name: {category!r}")
    return ", ".join(f"'{category.lower()}'" for category in sorted(categories))


def skip_other_categories(categories: Collection[str]) -> str:
    """SQL `skip` predicate: the record's category is none of `categories`, or the record is an
    envelope without a category (no member can route it). A row with nothing of an envelope (a
    line that is not an object, or an object of another shape) is not skipped: every member
    keeps it, to be quarantined for what it lacks. Reads the relation's `category`, `time` and
    `properties`."""
    return (
        "CASE WHEN category IS NULL THEN time IS NOT NULL OR properties IS NOT NULL "
        f"ELSE lower(category) NOT IN ({_sql_list(categories)}) END"
    )


def category_is(categories: Collection[str]) -> str:
    """SQL: the record's category is one of `categories`."""
    return f"coalesce(lower(category) IN ({_sql_list(categories)}), false)"


def envelope_sniffer(categories: Collection[str]) -> Callable[[Sample], bool]:
    """A sniffer for envelope records (a time, an object in ``properties``) of `categories`."""
    wanted = {category.lower() for category in categories}

    def sniff(sample: Sample) -> bool:
        return sample.kind == "json" and any(
            isinstance(record.get("category"), str)
            and record["category"].lower() in wanted
            and isinstance(record.get("properties"), dict)
            and "time" in record
            for record in sample.records
        )

    return sniff


def envelope_format(
    *,
    name: str,
    description: str,
    table: str,
    categories: Collection[str],
    properties: str,
    select: Mapping[str, str],
    relation: str = Format.relation,
    id_field: str = "properties.id",
) -> Format:
    """A member of :data:`GROUP`: the envelope records of `categories` (claimed by their
    category, those of any other category skipped), read with the ENVELOPE columns and
    ``properties`` typed as `properties` (a DuckDB STRUCT), mapped by `select` onto `table`."""
    return Format(
        name=name,
        description=description,
        table=table,
        sniff=envelope_sniffer(categories),
        group=GROUP,
        specificity=SPECIFICITY,
        skip=skip_other_categories(categories),
        id_field=id_field,
        time_field="time",
        columns={**ENVELOPE, "properties": properties},
        relation=relation,
        select=select,
    )
