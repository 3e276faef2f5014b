"""The normalised schema, declared once.

Every format maps onto these tables, every analytic reads them, the DDL in ``store/`` and the
reference in ``docs/schema.md`` are generated from them. A column is a name, a DuckDB type and
one line of meaning; nothing else in the code base spells out a table's columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailhunt.model.sql import quote_identifier


@dataclass(frozen=True)
class Column:
    """One column: its name, its DuckDB type and what it holds."""

    name: str
    type: str
    meaning: str


@dataclass(frozen=True)
class Table:
    """One table of the store."""

    name: str
    meaning: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    view: str | None = None  # SELECT defining the table as a view over stored tables

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


def _cols(*rows: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(name, type_, meaning) for name, type_, meaning in rows)


# Provenance columns shared by every table that holds source records.
_PROVENANCE = (
    ("record_id", "VARCHAR", "The source's own id for the record (UAL Id, sign-in id)."),
    ("source", "VARCHAR", "Name of the format the record was read as (see formats/)."),
    ("source_ref", "VARCHAR", "Where the record came from: file path and line, or blob id."),
    ("file_sha256", "VARCHAR", "SHA-256 of the input file the record was read from."),
    (
        "record_ordinal",
        "BIGINT",
        "Position of the record among the file's records (1-based); record_spans has its bytes.",
    ),
    ("ingest_run_id", "VARCHAR", "The ingest run that stored the record."),
)

_WARNINGS = (
    "warnings",
    "VARCHAR[]",
    "Data-quality warnings raised reading the record (e.g. nested data lost in an export).",
)

EVENTS = Table(
    name="events",
    meaning=(
        "One row per audit record (Microsoft 365 unified audit log and similar sources). "
        "record_id is unique: ingest drops duplicates."
    ),
    columns=_cols(
        ("time", "TIMESTAMPTZ", "When the audited action happened, UTC."),
        ("tenant_id", "VARCHAR", "Tenant (organisation) id the record belongs to."),
        ("workload", "VARCHAR", "Service that produced the record (Exchange, SharePoint, ...)."),
        ("record_type", "INTEGER", "UAL RecordType number (50 = ExchangeItemAggregated)."),
        ("operation", "VARCHAR", "Audited operation (MailItemsAccessed, Send, New-InboxRule...)."),
        ("result", "VARCHAR", "Result status as the source states it (Succeeded, Failed...)."),
        (
            "category",
            "VARCHAR",
            "The source's category of the record: an Entra audit's (UserManagement, "
            "RoleManagement, Policy...), an Azure Activity event's (Administrative, Security...).",
        ),
        (
            "alert_name",
            "VARCHAR",
            "Name of the alert a record reports (UAL SecurityComplianceAlerts: 'Suspicious inbox "
            "forwarding', 'Impossible travel activity'...).",
        ),
        (
            "logged_by_service",
            "VARCHAR",
            "Entra audits: the service that logged the change (Core Directory, PIM, "
            "Authentication Methods...).",
        ),
        ("actor_upn", "VARCHAR", "Who acted: the UserId of the record, lower-cased."),
        ("mailbox_upn", "VARCHAR", "Owner of the mailbox acted on (MailboxOwnerUPN), lower-cased."),
        ("mailbox_guid", "VARCHAR", "Exchange MailboxGuid of the mailbox acted on."),
        ("app_id", "VARCHAR", "AppId: the application (resource API) that accessed the data."),
        ("client_app_id", "VARCHAR", "ClientAppId: the client application that held the token."),
        ("client_ip", "VARCHAR", "Client IP address, port and brackets removed."),
        ("user_agent", "VARCHAR", "User agent or ClientInfoString of the client."),
        ("session_id", "VARCHAR", "Exchange SessionId of the access."),
        ("aad_session_id", "VARCHAR", "Entra session id (AppAccessContext.AADSessionId)."),
        ("token_id", "VARCHAR", "AppAccessContext.UniqueTokenId: the token that was presented."),
        ("token_issued_at", "TIMESTAMPTZ", "AppAccessContext.IssuedAtTime of that token, UTC."),
        ("logon_type", "VARCHAR", "Owner, Admin, Delegate or Transport (from LogonType)."),
        ("access_type", "VARCHAR", "MailItemsAccessed access: Bind (one item) or Sync (folder)."),
        ("throttled", "BOOLEAN", "True when MailItemsAccessed auditing was throttled."),
        ("operation_count", "INTEGER", "Aggregated operation count the record stands for."),
        ("item_count", "INTEGER", "Number of messages the record lists in its folders."),
        (
            "object_id",
            "VARCHAR",
            "ObjectId: what an admin or directory operation acted on (mailbox, rule, app).",
        ),
        (
            "parameters",
            "STRUCT(name VARCHAR, value VARCHAR)[]",
            "What the operation was given: cmdlet Parameters (Name, Value) and, for directory "
            "changes, ModifiedProperties (Name, NewValue); for Azure Activity events, the "
            "entries of properties (name, value).",
        ),
        (
            "message_items",
            "STRUCT(folder_path VARCHAR, internet_message_id VARCHAR, size_bytes BIGINT)[]",
            "Messages the record lists (folder, Internet Message-ID, size); see mail_items.",
        ),
        _WARNINGS,
        *_PROVENANCE,
    ),
)

MAIL_ITEMS = Table(
    name="mail_items",
    meaning=(
        "One row per message read, unnested from MailItemsAccessed Folders/FolderItems, and one "
        "per folder synced whole (a Sync lists no messages: internet_message_id is NULL, the "
        "folder is what was taken). A view "
        "over events.message_items: stored nested once at ingest (one write), unnested on read."
    ),
    view=(
        "SELECT record_id, time, tenant_id, mailbox_upn, item.folder_path AS folder_path, "
        "item.internet_message_id AS internet_message_id, item.size_bytes AS size_bytes, "
        "access_type FROM (SELECT *, unnest(message_items) AS item FROM events "
        "WHERE len(message_items) > 0)"
    ),
    columns=_cols(
        ("record_id", "VARCHAR", "The events row this message was read in."),
        ("time", "TIMESTAMPTZ", "When it was read, UTC (the event's time)."),
        ("tenant_id", "VARCHAR", "Tenant of the mailbox."),
        ("mailbox_upn", "VARCHAR", "Mailbox the message is in, lower-cased."),
        ("folder_path", "VARCHAR", "Folder path as the source gives it (e.g. \\Inbox)."),
        ("internet_message_id", "VARCHAR", "Internet Message-ID of the message read."),
        ("size_bytes", "BIGINT", "Size of the message in bytes."),
        ("access_type", "VARCHAR", "Bind or Sync, from the event."),
    ),
)

BLIND_WINDOWS = Table(
    name="blind_windows",
    meaning=(
        "Periods a mailbox's reads went unaudited: a MailItemsAccessed record with "
        "IsThrottled=True means Exchange stopped auditing Bind access to that mailbox for the "
        "next 24 hours (Sync records go on). Every message of the mailbox is presumed read in "
        "such a window. A view over events (no row is stored)."
    ),
    view=(
        "SELECT tenant_id, mailbox_upn, time AS window_start, "
        "time + INTERVAL 24 HOURS AS window_end, "
        "'MailItemsAccessed throttled (IsThrottled=True): Bind access not audited for 24 hours' "
        "AS reason, record_id FROM events "
        "WHERE operation = 'MailItemsAccessed' AND throttled AND mailbox_upn IS NOT NULL"
    ),
    columns=_cols(
        ("tenant_id", "VARCHAR", "Tenant of the mailbox."),
        ("mailbox_upn", "VARCHAR", "Mailbox whose Bind access went unaudited, lower-cased."),
        ("window_start", "TIMESTAMPTZ", "When auditing was throttled (the record's time), UTC."),
        ("window_end", "TIMESTAMPTZ", "When Bind auditing resumes: 24 hours later, UTC."),
        ("reason", "VARCHAR", "Why the window is unaudited."),
        ("record_id", "VARCHAR", "The IsThrottled=True record that opened the window."),
    ),
)

SIGNINS = Table(
    name="signins",
    meaning=(
        "One row per Entra ID sign-in (interactive or not): who got which token, from where. "
        "record_id is unique: ingest drops duplicates."
    ),
    columns=_cols(
        ("time", "TIMESTAMPTZ", "When the sign-in happened, UTC."),
        ("tenant_id", "VARCHAR", "Resource (or home) tenant id."),
        ("user_upn", "VARCHAR", "User principal name, lower-cased."),
        ("user_id", "VARCHAR", "Entra object id of the user."),
        ("app_id", "VARCHAR", "Application (client) id that signed in."),
        ("app_name", "VARCHAR", "Display name of that application."),
        ("resource_id", "VARCHAR", "Resource (API) the token was issued for."),
        ("resource_name", "VARCHAR", "Display name of that resource (resourceDisplayName)."),
        ("client_ip", "VARCHAR", "Client IP address."),
        ("user_agent", "VARCHAR", "User agent of the client."),
        ("session_id", "VARCHAR", "Entra session id (sessionId)."),
        ("unique_token_id", "VARCHAR", "uniqueTokenIdentifier of the token issued."),
        ("token_issuer_type", "VARCHAR", "AzureAD, ADFederationServices, ..."),
        ("interactive", "BOOLEAN", "True for interactive sign-ins."),
        ("error_code", "INTEGER", "status.errorCode; 0 is success."),
        ("failure_reason", "VARCHAR", "status.failureReason, when it failed."),
        ("country", "VARCHAR", "location.countryOrRegion."),
        ("city", "VARCHAR", "location.city."),
        (
            "authentication_requirement",
            "VARCHAR",
            "singleFactorAuthentication or multiFactorAuthentication: what the sign-in required.",
        ),
        (
            "conditional_access_status",
            "VARCHAR",
            "success, failure or notApplied: the outcome of Conditional Access.",
        ),
        ("risk_state", "VARCHAR", "riskState of the sign-in (none, atRisk, remediated...)."),
        ("device_id", "VARCHAR", "deviceDetail.deviceId: the Entra device id, when registered."),
        (
            "device_trust_type",
            "VARCHAR",
            "deviceDetail.trustType: how the device is joined (Azure AD joined...); NULL: none.",
        ),
        ("device_compliant", "BOOLEAN", "deviceDetail.isCompliant: Intune compliance."),
        _WARNINGS,
        *_PROVENANCE,
    ),
)

QUARANTINE = Table(
    name="quarantine",
    meaning="Records that could not be read: where they were, why, and their bytes (truncated).",
    columns=_cols(
        ("ingest_run_id", "VARCHAR", "The ingest run that met the record."),
        ("source_path", "VARCHAR", "Input file."),
        ("line", "BIGINT", "Line number in that file (1-based), or element number in an array."),
        ("byte_offset", "BIGINT", "Offset of the record in the file."),
        ("format", "VARCHAR", "Format the file was read as."),
        ("reason", "VARCHAR", "Short machine reason (invalid_json, missing_id, ...)."),
        ("detail", "VARCHAR", "Human detail of the reason."),
        ("raw", "BLOB", "The record's bytes, truncated to 4 KiB."),
    ),
)

RECORD_SPANS = Table(
    name="record_spans",
    meaning=(
        "Where each framed record's original bytes are in its input file: the evidence behind "
        "every row (mailhunt show). Written from framing's arrays, apart from the parsed rows, "
        "so the hot insert carries no per-row join."
    ),
    columns=_cols(
        ("file_sha256", "VARCHAR", "SHA-256 of the input file."),
        ("ordinal", "BIGINT", "Position of the record among the file's records (1-based)."),
        ("line", "BIGINT", "Line where the record starts (or element number in an array)."),
        ("byte_offset", "BIGINT", "Offset of the record's first byte in the file."),
        ("byte_length", "BIGINT", "Length of the record in bytes."),
    ),
)

INGEST_RUNS = Table(
    name="ingest_runs",
    meaning="One row per input file per ingest run, with its SHA-256 and counts.",
    columns=_cols(
        ("ingest_run_id", "VARCHAR", "Id of the run."),
        ("started_at", "TIMESTAMPTZ", "When the run started, UTC."),
        ("source_path", "VARCHAR", "Input file, absolute."),
        ("file_sha256", "VARCHAR", "SHA-256 of the file as read."),
        ("file_size", "BIGINT", "Size of the file in bytes."),
        ("format", "VARCHAR", "Format it was read as, or NULL when skipped."),
        ("records_read", "BIGINT", "Records framed from the file."),
        ("records_new", "BIGINT", "Records stored that were not already in the store."),
        ("records_quarantined", "BIGINT", "Records quarantined."),
        ("status", "VARCHAR", "ingested, skipped or failed."),
        ("detail", "VARCHAR", "Why a file was skipped or failed; formats tried."),
    ),
)

IP_INFO = Table(
    name="ip_info",
    meaning=(
        "What is known about a client IP address of events and sign-ins, looked up in MaxMind-"
        "format databases the user supplied (mailhunt detect --geoip): one row per address, "
        "written once (mailhunt.enrich). Empty when no database was given."
    ),
    primary_key=("ip",),
    columns=_cols(
        ("ip", "VARCHAR", "The address, as events.client_ip and signins.client_ip hold it."),
        ("country", "VARCHAR", "ISO 3166-1 alpha-2 country code, when a database knows it."),
        ("asn", "BIGINT", "Autonomous system number announcing the address, when known."),
        ("as_org", "VARCHAR", "Name of that autonomous system's organisation."),
        (
            "network_kind",
            "VARCHAR",
            "hosting, vpn, tor, proxy or residential when known (an anonymous-IP database, the "
            "curated ASN list or the AS name), else NULL.",
        ),
        ("enriched_at", "TIMESTAMPTZ", "When the address was looked up, UTC."),
    ),
)

ALERTS = Table(
    name="alerts",
    meaning="One row per alert: a rule fired on an entity within a time bucket.",
    primary_key=("id",),
    columns=_cols(
        ("id", "VARCHAR", "Deterministic id: hash of the JSON array [rule, entity, bucket]."),
        ("rule_id", "VARCHAR", "Analytic or Sigma rule id."),
        ("title", "VARCHAR", "Rule title."),
        ("severity", "VARCHAR", "informational, low, medium, high or critical."),
        ("technique", "VARCHAR", "MITRE ATT&CK technique id."),
        ("entity", "VARCHAR", "What the alert is about: a JSON array ([tenant, app])."),
        ("summary", "VARCHAR", "One sentence saying what happened."),
        ("tenant_ids", "VARCHAR[]", "Tenants involved."),
        ("mailboxes", "VARCHAR[]", "Mailboxes involved."),
        ("users", "VARCHAR[]", "Users (actors) involved."),
        ("app_ids", "VARCHAR[]", "Applications involved."),
        ("client_ips", "VARCHAR[]", "Client IPs involved."),
        ("first_seen", "TIMESTAMPTZ", "Earliest evidence time, UTC."),
        ("last_seen", "TIMESTAMPTZ", "Latest evidence time, UTC."),
        ("event_count", "BIGINT", "Number of evidence records."),
        ("created_at", "TIMESTAMPTZ", "When the alert was first raised, UTC."),
        (
            "why",
            "JSON",
            "Why it fired, in data: a JSON object from the analytic, with at least 'baseline' "
            "(the history it compared with) and 'new' (what was new); NULL if it gave none.",
        ),
        ("techniques", "VARCHAR[]", "Every MITRE ATT&CK technique id of the rule, first first."),
        (
            "suppressed_by",
            "BIGINT",
            "The suppression (suppressions.id) that matched the detection; NULL when none did.",
        ),
    ),
)

SUPPRESSIONS = Table(
    name="suppressions",
    meaning=(
        "What a user chose not to be alerted on (mailhunt suppress): a detection matching every "
        "field given here, while the suppression is active, is stored as an alert with "
        "suppressed_by set, counted but not listed."
    ),
    primary_key=("id",),
    columns=_cols(
        ("id", "BIGINT", "Number of the suppression (mailhunt suppress remove ID)."),
        ("created_at", "TIMESTAMPTZ", "When it was added, UTC."),
        ("created_by", "VARCHAR", "The operating-system user who added it."),
        ("rule_id", "VARCHAR", "Only alerts of this rule; NULL: any rule."),
        ("tenant_id", "VARCHAR", "Only alerts involving this tenant (lower-cased); NULL: any."),
        ("app_id", "VARCHAR", "Only alerts involving this application (lower-cased); NULL: any."),
        ("mailbox", "VARCHAR", "Only alerts involving this mailbox (lower-cased); NULL: any."),
        ("user_upn", "VARCHAR", "Only alerts involving this user (lower-cased); NULL: any."),
        (
            "cidr",
            "VARCHAR",
            "Only alerts with a client IP in this network (an address is a /32 or /128); "
            "NULL: any.",
        ),
        ("reason", "VARCHAR", "Why, in the user's words."),
        ("expires_at", "TIMESTAMPTZ", "When it stops applying to new detections; NULL: never."),
    ),
)

ALERT_EVIDENCE = Table(
    name="alert_evidence",
    meaning="Which source records are the evidence of which alert.",
    primary_key=("alert_id", "record_id"),
    columns=_cols(
        ("alert_id", "VARCHAR", "The alert."),
        ("record_id", "VARCHAR", "A source record id (events or signins) behind it."),
    ),
)

INDICATORS = Table(
    name="indicators",
    meaning=(
        "Indicators of compromise matched over everything stored (ioc-match): the published "
        "Storm-0558 set and the lists a user imports (STIX 2.1 bundles, CSV)."
    ),
    primary_key=("source", "kind", "value"),
    columns=_cols(
        ("source", "VARCHAR", "Where the indicator comes from: a list's name or file name."),
        ("kind", "VARCHAR", "ip, domain, email, app_id, user_agent or signing_key."),
        ("value", "VARCHAR", "The indicator, normalised (IP compressed, lower-cased)."),
        ("description", "VARCHAR", "What the source says it is."),
        ("reference", "VARCHAR", "URL or id of the publication or STIX object."),
        ("first_seen", "DATE", "First seen, when the source says."),
        ("last_seen", "DATE", "Last seen, when the source says."),
        ("imported_at", "TIMESTAMPTZ", "When it was stored, UTC."),
    ),
)

# The rule whose alerts are campaigns (detect/analytics/cross_tenant_campaign.py): its alert's
# evidence is every member alert's evidence, so membership is read back from the evidence.
_CAMPAIGN_RULE = "cross-tenant-campaign"

CAMPAIGN_MEMBERS = Table(
    name="campaign_members",
    meaning=(
        "Which campaign each alert belongs to: a campaign is an alert of cross-tenant-campaign, "
        "whose evidence is the records of the alerts it links that carry its shared things, so "
        "an alert belongs to the campaign whose evidence shares the most of its records (of "
        "those sharing as many, the one with the most evidence: a campaign that grew "
        "supersedes its earlier alert). A campaign alert belongs to itself. A view over alerts "
        "and alert_evidence (no row is stored)."
    ),
    view=(
        "WITH campaign_evidence AS (SELECT x.alert_id AS campaign_id, x.record_id "
        "FROM alert_evidence x JOIN alerts c ON c.id = x.alert_id "
        f"WHERE c.rule_id = '{_CAMPAIGN_RULE}'), "
        "campaign_sizes AS (SELECT campaign_id, count(*) AS records FROM campaign_evidence "
        "GROUP BY campaign_id), "
        "covered AS (SELECT x.alert_id, e.campaign_id, count(*) AS shared "
        "FROM alert_evidence x JOIN campaign_evidence e ON e.record_id = x.record_id "
        "GROUP BY x.alert_id, e.campaign_id) "
        "SELECT c.alert_id, arg_max(c.campaign_id, struct_pack(s := c.shared, n := z.records, "
        "id := c.campaign_id)) AS campaign_id FROM covered c "
        "JOIN campaign_sizes z USING (campaign_id) GROUP BY c.alert_id"
    ),
    columns=_cols(
        ("alert_id", "VARCHAR", "An alert."),
        ("campaign_id", "VARCHAR", "The campaign (its cross-tenant-campaign alert's id)."),
    ),
)

CAMPAIGNS = Table(
    name="campaigns",
    meaning=(
        "One row per campaign (cross-tenant-campaign alert) not superseded by a larger one: "
        "what its member alerts share and where. A view over alerts and campaign_members."
    ),
    view=(
        "SELECT c.id AS campaign_id, json_extract_string(c.entity, '$[0]') AS kind, "
        "json_extract_string(c.entity, '$[1]') AS value, c.severity, c.tenant_ids, "
        "list_sort(list(m.alert_id) FILTER (WHERE m.alert_id <> c.id)) AS alert_ids, "
        "c.first_seen, c.last_seen, c.summary "
        "FROM alerts c JOIN campaign_members m ON m.campaign_id = c.id "
        f"WHERE c.rule_id = '{_CAMPAIGN_RULE}' "
        "GROUP BY c.id, c.entity, c.severity, c.tenant_ids, c.first_seen, c.last_seen, c.summary"
    ),
    columns=_cols(
        ("campaign_id", "VARCHAR", "The campaign: its alert's id (hash of rule and indicator)."),
        ("kind", "VARCHAR", "What its id is made of: ip, prefix, app or fingerprint."),
        ("value", "VARCHAR", "That shared value (a fingerprint: JSON [user agent, app id])."),
        ("severity", "VARCHAR", "The campaign alert's severity."),
        ("tenant_ids", "VARCHAR[]", "The tenants it links."),
        ("alert_ids", "VARCHAR[]", "Its member alerts (campaign_members), itself aside."),
        ("first_seen", "TIMESTAMPTZ", "Earliest member evidence, UTC."),
        ("last_seen", "TIMESTAMPTZ", "Latest member evidence, UTC."),
        ("summary", "VARCHAR", "What the members share, in words."),
    ),
)

# -- incidents (issue 10): alerts grouped into incidents, and each incident's blast radius ------

INCIDENTS = Table(
    name="incidents",
    meaning=(
        "One row per incident: alerts linked by what their records share (Entra session, "
        "Exchange session, token, uncommon application, new client IP) within a time window, in "
        "one tenant (a cross-tenant intrusion is one incident per tenant, linked by campaign_id). "
        "Rebuilt from the alerts by mailhunt detect and mailhunt incidents; the id, status, "
        "assignee and created_at survive every rebuild. An incident merged into an older one "
        "keeps its row with merged_into set."
    ),
    primary_key=("id",),
    columns=_cols(
        ("id", "VARCHAR", "Stable id: 'INC-' and a hash of the incident's earliest alert's id."),
        ("title", "VARCHAR", "What happened, in a few words."),
        ("severity", "VARCHAR", "The highest severity of its alerts."),
        ("status", "VARCHAR", "new, investigating, contained, resolved or false-positive."),
        ("assignee", "VARCHAR", "Who works on it; NULL: nobody yet."),
        ("tenant_ids", "VARCHAR[]", "Tenants involved."),
        ("mailboxes", "VARCHAR[]", "Mailboxes the intruder read or acted on (the blast radius)."),
        ("users", "VARCHAR[]", "Users (actors) of its alerts."),
        ("app_ids", "VARCHAR[]", "Applications of its alerts."),
        ("client_ips", "VARCHAR[]", "Client IPs of its alerts."),
        ("alert_ids", "VARCHAR[]", "Its alerts (incident_alerts), oldest first."),
        ("campaign_id", "VARCHAR", "The cross-tenant campaign its alerts belong to; NULL: none."),
        ("first_seen", "TIMESTAMPTZ", "Earliest attributed record, UTC."),
        ("last_seen", "TIMESTAMPTZ", "Latest attributed record, UTC."),
        ("event_count", "BIGINT", "Records attributed to the intruder (incident_records)."),
        ("message_count", "BIGINT", "Distinct messages read (incident_messages)."),
        ("created_at", "TIMESTAMPTZ", "When the incident was first built, UTC."),
        ("updated_at", "TIMESTAMPTZ", "When its alerts, status, assignee or notes last changed."),
        (
            "merged_into",
            "VARCHAR",
            "The incident it was merged into (an older one it became linked to); NULL: live.",
        ),
    ),
)

INCIDENT_ALERTS = Table(
    name="incident_alerts",
    meaning=(
        "Which incidents each (unsuppressed) alert belongs to in each tenant its evidence is "
        "in, as of the last build: one, unless its evidence holds the records of several "
        "intruders that share nothing (then one per intruder, each with its records); a "
        "cross-tenant campaign alert is in the incident of every intruder it cites, per tenant."
    ),
    primary_key=("tenant_id", "alert_id", "incident_id"),
    columns=_cols(
        ("tenant_id", "VARCHAR", "A tenant of the alert's evidence."),
        ("alert_id", "VARCHAR", "An alert."),
        ("incident_id", "VARCHAR", "An incident holding some of its evidence in that tenant."),
    ),
)

INCIDENT_NOTES = Table(
    name="incident_notes",
    meaning=(
        "The incident's journal (mailhunt incident set): notes, and every change of status or "
        "assignee, timestamped and signed; never rewritten by a rebuild."
    ),
    columns=_cols(
        ("incident_id", "VARCHAR", "The incident (its id when the note was written)."),
        ("noted_at", "TIMESTAMPTZ", "When, UTC."),
        ("author", "VARCHAR", "Who: the operating-system user, or the name given."),
        ("kind", "VARCHAR", "note, status, assignee or merge."),
        ("text", "VARCHAR", "The note, or the change ('status: new -> contained')."),
    ),
)

INCIDENT_BUILDS = Table(
    name="incident_builds",
    meaning=(
        "Each build of the incidents: when, over which alerts (a digest, so mailhunt incidents "
        "rebuilds only when the alerts changed) and with which window."
    ),
    columns=_cols(
        ("built_at", "TIMESTAMPTZ", "When, UTC."),
        ("alerts_digest", "VARCHAR", "Digest of the alerts, their evidence and suppression."),
        ("window_days", "INTEGER", "Days allowed between linked evidence."),
        ("incidents", "BIGINT", "Live incidents after the build."),
        ("alerts", "BIGINT", "Unsuppressed alerts grouped."),
    ),
)

INCIDENT_RECORDS = Table(
    name="incident_records",
    meaning=(
        "The blast radius, record by record: every stored record (events or signins) "
        "attributed to the incident's intruder: its alerts' evidence, and the records of the "
        "same Entra or Exchange sessions, tokens, uncommon applications and intruder-only "
        "client IPs in its tenants and window. The owner's and delegates' own access is not. "
        "One row per incident and record (no index: rewritten whole by every build)."
    ),
    columns=_cols(
        ("incident_id", "VARCHAR", "The incident."),
        ("record_id", "VARCHAR", "The record (events.record_id or signins.record_id)."),
        ("table_name", "VARCHAR", "events or signins."),
        ("tenant_id", "VARCHAR", "Its tenant."),
        ("time", "TIMESTAMPTZ", "Its time, UTC."),
        ("mailbox_upn", "VARCHAR", "Mailbox acted on (events), lower-cased; NULL for a sign-in."),
        ("actor_upn", "VARCHAR", "Who acted (events.actor_upn, signins.user_upn)."),
        ("operation", "VARCHAR", "Operation (events); 'SignIn' for a sign-in."),
        ("client_ip", "VARCHAR", "Client IP."),
        (
            "link",
            "VARCHAR",
            "Why it is attributed, strongest first: evidence, session, token, app or ip.",
        ),
    ),
)

INCIDENT_MAILBOXES = Table(
    name="incident_mailboxes",
    meaning=(
        "Per incident and mailbox: what the intruder did there (from incident_records). "
        "One row per incident and mailbox (no index: rewritten whole by every build)."
    ),
    columns=_cols(
        ("incident_id", "VARCHAR", "The incident."),
        ("tenant_id", "VARCHAR", "Tenant of the mailbox."),
        ("mailbox_upn", "VARCHAR", "The mailbox, lower-cased."),
        ("first_access", "TIMESTAMPTZ", "First attributed record on it, UTC."),
        ("last_access", "TIMESTAMPTZ", "Last attributed record on it, UTC."),
        ("records", "BIGINT", "Attributed records on it."),
        ("messages_read", "BIGINT", "Distinct Internet Message-IDs read (Bind)."),
        ("bind_records", "BIGINT", "MailItemsAccessed Bind records."),
        ("sync_records", "BIGINT", "MailItemsAccessed Sync records (whole folders)."),
        ("folders_synced", "BIGINT", "Distinct folders synced whole (incident_syncs)."),
        ("messages_sent", "BIGINT", "Send, SendAs and SendOnBehalf records."),
        ("changes", "BIGINT", "Rule, forwarding and permission changes (incident_actions)."),
        ("blind_windows", "BIGINT", "Throttled windows in the incident's window."),
    ),
)

INCIDENT_MESSAGES = Table(
    name="incident_messages",
    meaning="Per incident: every message the intruder read (Bind), per mailbox and folder.",
    columns=_cols(
        ("incident_id", "VARCHAR", "The incident."),
        ("tenant_id", "VARCHAR", "Tenant of the mailbox."),
        ("mailbox_upn", "VARCHAR", "Mailbox, lower-cased."),
        ("folder_path", "VARCHAR", "Folder as the source gives it."),
        ("internet_message_id", "VARCHAR", "Internet Message-ID."),
        ("size_bytes", "BIGINT", "Size in bytes, where known."),
        ("subject", "VARCHAR", "Subject, where a source carries it; else NULL."),
        ("first_read", "TIMESTAMPTZ", "First read by the intruder, UTC."),
        ("last_read", "TIMESTAMPTZ", "Last read by the intruder, UTC."),
        ("reads", "BIGINT", "Attributed records listing it."),
        ("record_ids", "VARCHAR[]", "Those records."),
    ),
)

INCIDENT_SYNCS = Table(
    name="incident_syncs",
    meaning=(
        "Per incident: every folder the intruder synced whole (a Sync lists no messages: the "
        "whole folder is presumed read) and how many messages it is known to hold."
    ),
    columns=_cols(
        ("incident_id", "VARCHAR", "The incident."),
        ("tenant_id", "VARCHAR", "Tenant of the mailbox."),
        ("mailbox_upn", "VARCHAR", "Mailbox, lower-cased."),
        ("folder_path", "VARCHAR", "The folder synced."),
        ("first_sync", "TIMESTAMPTZ", "First Sync by the intruder, UTC."),
        ("last_sync", "TIMESTAMPTZ", "Last Sync by the intruder, UTC."),
        ("syncs", "BIGINT", "Attributed Sync records of the folder."),
        (
            "messages_known",
            "BIGINT",
            "Distinct Internet Message-IDs ever seen in that folder of that mailbox (any "
            "record, anyone's): a lower bound of what the folder held; 0: unknown.",
        ),
        ("record_ids", "VARCHAR[]", "The Sync records."),
    ),
)

INCIDENT_BLIND_WINDOWS = Table(
    name="incident_blind_windows",
    meaning=(
        "Per incident: throttled windows (blind_windows) of its mailboxes overlapping its "
        "window. Unaudited: assume everything in this mailbox in this window was read."
    ),
    columns=_cols(
        ("incident_id", "VARCHAR", "The incident."),
        ("tenant_id", "VARCHAR", "Tenant of the mailbox."),
        ("mailbox_upn", "VARCHAR", "Mailbox, lower-cased."),
        ("window_start", "TIMESTAMPTZ", "When auditing was throttled, UTC."),
        ("window_end", "TIMESTAMPTZ", "When Bind auditing resumed, UTC."),
        ("reason", "VARCHAR", "Why the window is unaudited."),
        ("record_id", "VARCHAR", "The IsThrottled=True record that opened it."),
    ),
)

INCIDENT_ACTIONS = Table(
    name="incident_actions",
    meaning=(
        "Per incident: what the intruder did beside reading: mail sent (Send, SendAs, "
        "SendOnBehalf), inbox rules, forwarding, mailbox permissions, consents, audit changes."
    ),
    columns=_cols(
        ("incident_id", "VARCHAR", "The incident."),
        ("record_id", "VARCHAR", "The record."),
        ("tenant_id", "VARCHAR", "Its tenant."),
        ("time", "TIMESTAMPTZ", "When, UTC."),
        ("kind", "VARCHAR", "send, inbox-rule, forwarding, permission, consent, audit or other."),
        ("operation", "VARCHAR", "The operation."),
        ("actor_upn", "VARCHAR", "Who acted."),
        ("mailbox_upn", "VARCHAR", "Mailbox acted on."),
        ("object_id", "VARCHAR", "What it acted on (rule, mailbox, application)."),
        ("parameters", "STRUCT(name VARCHAR, value VARCHAR)[]", "What the operation was given."),
    ),
)

COLLECT_CURSORS = Table(
    name="collect_cursors",
    meaning=(
        "Per tenant and feed, how far live collection has gone (mailhunt collect): every "
        "content listed before window_end is stored or recorded in collect_content. Advanced "
        "only after the rows it covers are committed."
    ),
    columns=_cols(
        ("tenant_id", "VARCHAR", "Tenant (directory) id collected from."),
        ("feed", "VARCHAR", "Feed: a content type (Audit.Exchange...) or a Graph log."),
        ("window_end", "TIMESTAMPTZ", "End of the last window listed in full, UTC."),
        ("updated_at", "TIMESTAMPTZ", "When the cursor last moved."),
        ("last_error", "VARCHAR", "The last pass's error for this feed (no secret), or NULL."),
        ("last_error_at", "TIMESTAMPTZ", "When that error happened."),
    ),
    primary_key=("tenant_id", "feed"),
)

COLLECT_CONTENT = Table(
    name="collect_content",
    meaning=(
        "Content collected (a Management Activity API blob, a Graph page): written in the "
        "same transaction as its records, so a content id here is stored; a blob listed again "
        "is not downloaded again."
    ),
    columns=_cols(
        ("tenant_id", "VARCHAR", "Tenant (directory) id."),
        ("feed", "VARCHAR", "Feed the content came from."),
        ("content_id", "VARCHAR", "The service's content id (Graph pages: window and page)."),
        ("content_created", "TIMESTAMPTZ", "When the service made the content available."),
        ("landed_path", "VARCHAR", "The landed raw file (gzip): the records' evidence file."),
        ("status", "VARCHAR", "What ingest did with it: ingested, duplicate, skipped (empty)."),
        ("records_new", "BIGINT", "Records it added to the store."),
        ("collected_at", "TIMESTAMPTZ", "When it was stored."),
    ),
    primary_key=("tenant_id", "feed", "content_id"),
)

COLLECT_GAPS = Table(
    name="collect_gaps",
    meaning=(
        "Time no collection can cover any more: the collector was away longer than the "
        "service keeps content (7 days for the Management Activity API), so what was "
        "published between gap_start and gap_end is lost to it."
    ),
    columns=_cols(
        ("tenant_id", "VARCHAR", "Tenant (directory) id."),
        ("feed", "VARCHAR", "Feed with the gap."),
        ("gap_start", "TIMESTAMPTZ", "Where the cursor stood (content before it was stored)."),
        ("gap_end", "TIMESTAMPTZ", "The oldest time the service still lists."),
        ("found_at", "TIMESTAMPTZ", "When the collector found it."),
        ("reason", "VARCHAR", "Why (content past its retention)."),
    ),
)


TABLES: tuple[Table, ...] = (
    EVENTS,
    MAIL_ITEMS,
    BLIND_WINDOWS,
    SIGNINS,
    RECORD_SPANS,
    QUARANTINE,
    INGEST_RUNS,
    IP_INFO,
    ALERTS,
    ALERT_EVIDENCE,
    INDICATORS,
    SUPPRESSIONS,
    CAMPAIGN_MEMBERS,
    CAMPAIGNS,
    INCIDENTS,
    INCIDENT_ALERTS,
    INCIDENT_NOTES,
    INCIDENT_BUILDS,
    INCIDENT_RECORDS,
    INCIDENT_MAILBOXES,
    INCIDENT_MESSAGES,
    INCIDENT_SYNCS,
    INCIDENT_BLIND_WINDOWS,
    INCIDENT_ACTIONS,
    COLLECT_CURSORS,
    COLLECT_CONTENT,
    COLLECT_GAPS,
)
TABLES_BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}


def ddl(table: Table) -> str:
    """CREATE statement for one table or view (identifiers are fixed names from this module)."""
    if table.view:
        return f"CREATE OR REPLACE VIEW {quote_identifier(table.name)} AS {table.view}"
    columns = [f"{quote_identifier(column.name)} {column.type}" for column in table.columns]
    if table.primary_key:
        keys = ", ".join(quote_identifier(c) for c in table.primary_key)
        columns.append(f"PRIMARY KEY ({keys})")
    body = ",\n    ".join(columns)
    return f"CREATE TABLE IF NOT EXISTS {quote_identifier(table.name)} (\n    {body}\n)"


def markdown() -> str:
    """The schema reference, generated (docs/schema.md is this text)."""
    lines = ["# mailhunt schema", "", "Generated from `src/mailhunt/model/schema.py`.", ""]
    for table in TABLES:
        lines += [f"## `{table.name}`", "", table.meaning, ""]
        if table.primary_key:
            lines += [f"Key: {', '.join(table.primary_key)}", ""]
        if table.view:
            lines += ["A view: `" + table.view + "`", ""]
        lines += ["| column | type | meaning |", "| --- | --- | --- |"]
        lines += [f"| `{c.name}` | {c.type} | {c.meaning} |" for c in table.columns]
        lines.append("")
    return "\n".join(lines)
