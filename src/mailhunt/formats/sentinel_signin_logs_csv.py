"""Entra ID sign-ins as the Log Analytics / Microsoft Sentinel portal exports them to CSV
(``SigninLogs``, ``AADNonInteractiveUserSignInLogs``: "Export to CSV - all columns").

Quirks: UTF-8 with BOM, CRLF, pretty-printed JSON with newlines inside quoted cells; times in
``TimeGenerated [UTC]`` / ``CreatedDateTime [UTC]`` columns written ``4/28/2021, 3:05:26.000 PM``
(a time column exported in another time zone is not read: no offset is guessed); dynamic
columns exported once as JSON text, or twice as ``X_dynamic`` and ``X_string`` (one of the two
filled); some exports drop the time columns altogether, and then the earliest
``authenticationStepDateTime`` of ``AuthenticationDetails`` gives the time (warning
``time_from_authentication_details``). The mapping is that of the JSON rows
(:mod:`mailhunt.formats.sentinel_signin_logs`). References:
https://learn.microsoft.com/azure/azure-monitor/logs/log-analytics-tutorial (export to CSV)
https://learn.microsoft.com/azure/azure-monitor/reference/tables/signinlogs
"""

from __future__ import annotations

from dataclasses import replace

from mailhunt.formats import sentinel_signin_logs
from mailhunt.formats.sentinel_signin_logs import (
    DYNAMIC,
    TEXT,
    TIMES,
    is_sign_in_row,
    portal_csv_rows,
    portal_csv_sniffer,
    sentinel_relation,
)

# Fields that give a row its time; the authentication steps when an export has no time column.
_TIME_FIELDS = (*TIMES, "AuthenticationDetails")

# The JSON rows' format (columns, mapping, id and time fields) over the CSV's cells, the header
# variants merged into the same fields.
FORMAT = replace(
    sentinel_signin_logs.FORMAT,
    name="sentinel-signin-logs-csv",
    description="Entra ID sign-ins, Log Analytics / Sentinel portal CSV export of SigninLogs or "
    "AADNonInteractiveUserSignInLogs",
    reader="csv",
    sniff=portal_csv_sniffer(is_sign_in_row, _TIME_FIELDS),
    relation=sentinel_relation(TEXT, DYNAMIC, portal_csv_rows(TEXT, list(DYNAMIC), TIMES)),
)
