"""Google Workspace Reports API login activities (``activities.list``, application ``login``).

Same files as ``gworkspace-reports-api`` (JSON Lines, array, or ``items`` page; ``events`` an
array, or one object in a log shipper's one-document-per-event copy), claimed when
every activity sampled is a login one; one signins row per event: login_success, login_failure,
login_challenge, login_verification, logout, suspicious_login and the other account warnings.
user_upn is actor.email (or the ``affected_email_address`` of an account warning), client_ip
ipAddress, tenant_id the ``customerId`` lower-cased, app_name "Google login", interactive true,
token_issuer_type the ``login_type`` (google_password, saml, exchange, reauth), country
``networkInfo.regionCode``. Google has no numeric error codes: error_code is 0 for a success or a
passed challenge, 1 for a failure, a failed challenge or a blocked sensitive action, NULL for
events that are no authentication outcome (logout, warnings); failure_reason is
``login_failure_type`` (else the challenge status, else the event name).

Quirk: a login and its 2-step verification share uniqueQualifier and time; the record id adds
the event name, the etag item and a digest of the event's parameters (see ``_gworkspace``): two
sign-ins a shipper stored under one qualifier and time, without etag, are both kept.
Activities of other applications in a file claimed here are not sign-ins: they are skipped and
counted (ingest them from a file of their own).
References:
https://developers.google.com/workspace/admin/reports/v1/appendix/activity/login
https://developers.google.com/workspace/admin/reports/reference/rest/v1/activities/list
"""

from __future__ import annotations

from mailhunt.formats import _gworkspace as gw

FORMAT = gw.activity_format(
    "gworkspace-reports-api-login",
    "Google Workspace Reports API login activities: one sign-in per event",
    shape="api",
    login=True,
)
