"""What a format is: a cheap sniff, how DuckDB reads the file, and SQL onto the schema.

A format never loops over records. It names a reader (``json``: DuckDB ``read_json`` with typed
columns; ``csv``: ``read_csv``, every cell text; ``text``: one row per line, the text in column
``line``), an optional relation (SQL over ``{source}``, the reader's rows, that reshapes them
without dropping or reordering any: unnesting a JSON string column, renaming), and one SQL
expression per schema column over the relation's fields. ``store/`` turns that into one query.
A relation that turns one record into several rows (one per event of a Google activity) says
so with ``one_row_per_record=False``: its rows are then numbered by the reader.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Record = Mapping[str, Any]
READERS = ("json", "csv", "text")


@dataclass(frozen=True)
class Sample:
    """The start of a file as sniffers see it."""

    kind: str  # json (records are objects), csv (records are header -> cell), text
    records: tuple[Record, ...] = ()
    lines: tuple[str, ...] = ()
    name: str = ""  # the file's name, for formats whose exports are recognised by it


@dataclass(frozen=True)
class Format:
    """A source format mapped onto one schema table."""

    name: str
    description: str
    table: str  # "events" or "signins"
    sniff: Callable[[Sample], bool]  # is this sample mine? (cheap, never raises)
    select: Mapping[str, str]  # schema column -> SQL expression over the relation's fields
    reader: str = "json"
    columns: Mapping[str, str] = field(default_factory=dict)  # json: field -> DuckDB type
    relation: str = "SELECT * FROM {source}"
    # Source fields holding the record id and time, as dotted paths ("properties.id"): they name
    # what is missing or unreadable in quarantine reasons.
    id_field: str = "id"
    time_field: str = "time"
    required: tuple[str, ...] = ("record_id", "time")
    csv_options: Mapping[str, str] = field(default_factory=dict)  # extra read_csv options
    # SQL boolean over the relation's fields marking rows that are legitimately not records
    # (a syslog line that is not an authentication event): neither stored nor quarantined,
    # only counted as skipped.
    skip: str | None = None
    # For CSV exports whose record is JSON in one column (Purview's AuditData): the relation
    # parses it; quarantine judges that cell (what is missing or malformed in the record).
    embedded_json: str | None = None
    # Does the relation give exactly one row per reader row, in the reader's order? Then a row's
    # position among the inserted rows is its record's ordinal and DuckDB reads the file on
    # every core; otherwise the reader numbers its rows with row_number(), on one core.
    one_row_per_record: bool = True
    # When several formats claim a sample, the one with the highest specificity wins; two
    # claimants of equal specificity are a bug (a test sniffs every fixture).
    specificity: int = 0
    # Formats sharing a group read the same files together: a file that members of the group
    # claim is read once per member, and each record is stored by the member whose `skip` does
    # not exclude it (Azure Monitor diagnostic records of several Entra categories in one blob:
    # sign-ins to `signins`, audits to `events`). A record every member skips is counted as
    # skipped.
    group: str | None = None

    @property
    def numbered_by_position(self) -> bool:
        """Are rows numbered by their place in the file once read (several files can then be
        read at once, on every core), rather than by the reader's row_number()?"""
        return self.reader != "text" and self.one_row_per_record

    def __post_init__(self) -> None:
        if self.reader not in READERS:
            raise ValueError(f"{self.name}: unknown reader {self.reader!r}")
        if "{source}" not in self.relation:
            raise ValueError(f"{self.name}: relation must read from {{source}}")
        if self.embedded_json and self.reader != "csv":
            raise ValueError(f"{self.name}: embedded_json is for csv readers")


def json_sniffer(*keys: str, any_of: tuple[str, ...] = ()) -> Callable[[Sample], bool]:
    """A sniffer for JSON records holding every key of `keys` and one of `any_of`."""

    def sniff(sample: Sample) -> bool:
        return sample.kind == "json" and any(
            has_keys(record, *keys) and (not any_of or any(k in record for k in any_of))
            for record in sample.records
        )

    return sniff


def csv_sniffer(*headers: str) -> Callable[[Sample], bool]:
    """A sniffer for CSV files whose header has every one of `headers`."""

    def sniff(sample: Sample) -> bool:
        records = sample.records
        return sample.kind == "csv" and bool(records) and has_keys(records[0], *headers)

    return sniff


def has_keys(record: Record, *keys: str) -> bool:
    """True when every key is present in the record."""
    return all(key in record for key in keys)


def utc_time(field_sql: str) -> str:
    """SQL turning an ISO 8601 text into TIMESTAMPTZ; text without offset is UTC (the store's
    session time zone is UTC), unparseable text is NULL and the record is quarantined."""
    return f"TRY_CAST({field_sql} AS TIMESTAMPTZ)"


def bare_ip(field_sql: str) -> str:
    """SQL removing a port and IPv6 brackets: '1.2.3.4:5' -> '1.2.3.4', '[::1]:443' -> '::1'."""
    return (
        f"CASE WHEN {field_sql} IS NULL OR {field_sql} = '' THEN NULL "
        f"WHEN starts_with({field_sql}, '[') THEN split_part(substr({field_sql}, 2), ']', 1) "
        f"WHEN strpos({field_sql}, '.') > 0 "
        f"AND length({field_sql}) - length(replace({field_sql}, ':', '')) = 1 "
        f"THEN split_part({field_sql}, ':', 1) "
        f"ELSE {field_sql} END"
    )


def name_value(list_sql: str, name: str) -> str:
    """SQL picking Value from a list of {Name, Value} pairs (any order) by Name."""
    if not name.isidentifier():
        raise ValueError(f"not a property name: {name!r}")
    return f"list_filter({list_sql}, lambda p: p.Name = '{name}')[1].Value"


def warnings_sql(conditions: Mapping[str, str]) -> str:
    """SQL for the `warnings` column: the codes whose condition (SQL) holds, NULL when none."""
    for code in conditions:
        if not code.isidentifier():
            raise ValueError(f"not a warning code: {code!r}")
    items = ", ".join(f"CASE WHEN {sql} THEN '{code}' END" for code, sql in conditions.items())
    return f"nullif(list_filter([{items}], lambda w: w IS NOT NULL), [])"
