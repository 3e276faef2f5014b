"""What a format is: a cheap sniff, the typed columns DuckDB reads, and SQL onto the schema.

A format never loops over records. It declares the source columns it needs (DuckDB ``read_json``
types), one SQL expression per schema column over those source columns, and optionally the SQL
that fans a record out into ``mail_items``. ``store/`` turns that declaration into queries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Record = Mapping[str, Any]


@dataclass(frozen=True)
class Format:
    """A source format mapped onto one schema table."""

    name: str
    description: str
    table: str  # "events" or "signins"
    sniff: Callable[[Record], bool]  # given the first record of a file: is it mine?
    columns: Mapping[str, str]  # source field -> DuckDB type for read_json
    select: Mapping[str, str]  # schema column -> SQL expression over the source fields
    id_field: str = "id"  # source field holding the record id (named in quarantine reasons)
    time_field: str = "time"  # source field holding the record time
    required: tuple[str, ...] = field(default=("record_id", "time"))


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
        f"WHEN strpos({field_sql}, '.') > 0 AND strpos({field_sql}, ':') > 0 "
        f"THEN split_part({field_sql}, ':', 1) "
        f"ELSE {field_sql} END"
    )


def name_value(list_sql: str, name: str) -> str:
    """SQL picking Value from a list of {Name, Value} pairs (any order) by Name."""
    if not name.isidentifier():
        raise ValueError(f"not a property name: {name!r}")
    return f"list_filter({list_sql}, lambda p: p.Name = '{name}')[1].Value"
