"""Indicators of compromise: the published Storm-0558 set shipped with mailhunt and lists a
user imports (STIX 2.1 bundles, CSV), stored in the ``indicators`` table that ``ioc-match``
joins with everything stored."""

from mailhunt.intel.load import (
    BUILTIN,
    KINDS,
    Indicator,
    IndicatorList,
    builtin_lists,
    read_indicator_file,
    store_indicators,
)

__all__ = [
    "BUILTIN",
    "KINDS",
    "Indicator",
    "IndicatorList",
    "builtin_lists",
    "read_indicator_file",
    "store_indicators",
]
