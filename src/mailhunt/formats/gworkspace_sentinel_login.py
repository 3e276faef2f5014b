"""Google Workspace login activities as Microsoft Sentinel's connector writes them
(``GWorkspace_ReportsAPI_login_CL``).

The records of ``gworkspace-sentinel`` (one per event, ``event_name`` and the parameters copied
to the top level, ``events[]`` kept by older connector versions) whose application is login,
mapped onto signins exactly as ``gworkspace-reports-api-login`` maps a login event, with the
same record id when ``events[]`` was kept (see ``gworkspace-sentinel``). Quirk:
``sanitized_email.com`` stands for personal data in Sentinel's samples; it is stored as given.
References:
https://github.com/Azure/Azure-Sentinel/tree/master/Solutions/GoogleWorkspaceReports
https://developers.google.com/workspace/admin/reports/v1/appendix/activity/login
"""

from __future__ import annotations

from mailhunt.formats import _gworkspace as gw

FORMAT = gw.activity_format(
    "gworkspace-sentinel-login",
    "Google Workspace login activities, Sentinel GWorkspace_ReportsAPI_login_CL",
    shape="sentinel",
    login=True,
)
