"""The one helper that writes SQL identifiers (table and column names from this code base)."""

from __future__ import annotations


def quote_identifier(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'
