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

from mailhunt.formats.base import Format, Sample
from mailhunt.formats.sentinel_signin_logs import (
    COLUMNS,
    DYNAMIC,
    SELECT,
    TEXT,
    TIMES,
    is_sign_in_row,
    portal_csv_rows,
    portal_record,
    sentinel_relation,
)

# Fields that give a row its time; the authentication steps when an export has no time column.
_TIME_FIELDS = (*TIMES, "AuthenticationDetails")


def _sniff(sample: Sample) -> bool:
    return sample.kind == "csv" and any(
        is_sign_in_row(portal_record(r), _TIME_FIELDS) for r in sample.records
    )


FORMAT = Format(
    name="sentinel-signin-logs-csv",
    description="Entra ID sign-ins, Log Analytics / Sentinel portal CSV export of SigninLogs or "
    "AADNonInteractiveUserSignInLogs",
    table="signins",
    reader="csv",
    sniff=_sniff,
    id_field="Id",
    time_field="TimeGenerated",
    columns=COLUMNS,  # the fields once header variants are merged
    relation=sentinel_relation(TEXT, DYNAMIC, portal_csv_rows(TEXT, list(DYNAMIC), TIMES)),
    select=SELECT,
)
