"""Google Workspace activities as Microsoft Sentinel's connector writes them
(``GWorkspace_ReportsAPI_<application>_CL``), every application but login.

JSON arrays (or lines) of the records the connector's Azure Function posts: the Reports API
activity with, per event, ``event_name``, ``event_type`` and every event parameter copied to
the top level (``client_id``, ``app_name``, ``scope``, ``USER_EMAIL``...). Older connector
versions kept ``events[]`` as well, newer ones drop it: both are read, the record's event is
``event_name`` (a record without one is read as its first event) and ``events[]`` only fills
parameters that were not copied. One row per record, mapped exactly as ``gworkspace-reports-api``
maps an event. The record id is the API's when ``events[]`` was kept (the digest of the event's
parameters is computed from it), so such an activity read from both is stored once; a newer
connector's record has no ``events[]`` to digest, and an event with parameters read from it and
from the API is stored twice (never dropped).

Quirks: Sentinel's sample data replaces personal data with ``sanitized_email.com`` (not an
address; stored as given); an array may start with whitespace. The connector's flattening leaves
nothing to tell apart two events of the same name in one activity: they share one record id
(and have no digest).
Log Analytics query exports (columns with ``_s``/``_t`` suffixes) are another shape, not read
here. References:
https://github.com/Azure/Azure-Sentinel/tree/master/Solutions/GoogleWorkspaceReports
https://developers.google.com/workspace/admin/reports/reference/rest/v1/activities/list
"""

from __future__ import annotations

from mailhunt.formats import _gworkspace as gw

FORMAT = gw.activity_format(
    "gworkspace-sentinel",
    "Google Workspace activities, Sentinel GWorkspace_ReportsAPI_*_CL records",
    shape="sentinel",
    login=False,
)
