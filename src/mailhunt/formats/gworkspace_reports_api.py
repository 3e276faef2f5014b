"""Google Workspace Reports API activities (``activities.list``), every application but login.

JSON Lines, a JSON array, or an API page ``{"kind": "admin#reports#activities", "items": [...],
"nextPageToken": ...}`` (the framework frames a page's ``items``). Each item is an activity
(``kind: admin#reports#activity``) holding ``events[]``, or, as log shippers store activities
(Elastic Filebeat / Agent's Google Workspace integration splits ``events``), ``events`` as ONE
OBJECT: the same activity once per event. Both are read alike; one row per event: workload is the
application (token, admin, user_accounts, gmail, drive...), operation the event name, app_id the
OAuth ``client_id`` parameter of token events (authorize, revoke, activity: third-party apps
given Gmail scopes are how a mail-reading intruder keeps access). A token event that grants,
revokes or uses Gmail access, and out-of-domain mail forwarding, name the actor's own mailbox as
mailbox_upn.

Quirks: ``uniqueQualifier`` is not unique (see ``_gworkspace`` for the record id: it adds the
event name, the etag item and a digest of the event's parameters, so a shipper's split copy and
the API item have the same ids, and events of one name that differ are all kept); parameters
carry their value under one of ``value``, ``intValue`` (int64 as text), ``boolValue``,
``multiValue``...; system actions have ``actor.callerType`` KEY with no email and no IP; an
activity without events is kept (warning ``no_events``). Files whose activities are all login
ones are ``gworkspace-reports-api-login``'s (signins); in a file mixing applications that starts
with other applications, login activities land here as events of workload ``login``.
The tenant id is the Google ``customerId``, lower-cased. References:
https://developers.google.com/workspace/admin/reports/reference/rest/v1/activities/list
https://developers.google.com/workspace/admin/reports/v1/appendix/activity/token
https://github.com/elastic/integrations/tree/main/packages/google_workspace (httpjson split)
"""

from __future__ import annotations

from mailhunt.formats import _gworkspace as gw

FORMAT = gw.activity_format(
    "gworkspace-reports-api",
    "Google Workspace Reports API activities (token, admin, ...): one event per row",
    shape="api",
    login=False,
)
