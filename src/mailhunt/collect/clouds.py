"""The Microsoft clouds a tenant lives in and their hosts (sign-in, Management API, Graph).

- https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference#activity-api-operations
  (Enterprise manage.office.com, GCC manage-gcc.office.com, GCC High manage.office365.us,
  DoD manage.protection.apps.mil)
- https://learn.microsoft.com/entra/identity-platform/authentication-national-cloud
- https://learn.microsoft.com/graph/deployments (graph.microsoft.us, dod-graph.microsoft.us)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cloud:
    name: str
    login: str
    manage: str
    graph: str


CLOUDS = {
    cloud.name: cloud
    for cloud in (
        Cloud("global", "login.microsoftonline.com", "manage.office.com", "graph.microsoft.com"),
        Cloud("gcc", "login.microsoftonline.com", "manage-gcc.office.com", "graph.microsoft.com"),
        Cloud("gcc-high", "login.microsoftonline.us", "manage.office365.us", "graph.microsoft.us"),
        Cloud(
            "dod",
            "login.microsoftonline.us",
            "manage.protection.apps.mil",
            "dod-graph.microsoft.us",
        ),
    )
}
