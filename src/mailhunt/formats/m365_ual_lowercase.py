"""Microsoft 365 unified audit log records whose keys were all lower-cased by a SIEM or pipeline.

The Management Activity API's JSON (lines or array), but with every key at every depth in lower
case, as some SIEM exports and log pipelines write it: ``creationtime``, ``id``, ``operation``,
``organizationid``, ``clientipaddress``, ``folders: [{path, folderitems: [{internetmessageid,
sizeinbytes}]}]``, ``appaccesscontext: {uniquetokenid, aadsessionid, issuedattime}``,
``operationproperties: [{name, value}]``. Values are untouched. It maps exactly as ``m365_ual``
maps the API's JSON, to the same rows.

DuckDB's read_json matches JSON keys (and nested STRUCT field names) case-sensitively, so this
is a format of its own, with m365_ual's typed columns lower-cased; the PascalCase format does no
extra work for it. A file is recognised by a record holding ``creationtime``, ``operation`` and
``id`` and one of ``recordtype`` / ``workload``. References:
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-schema
https://learn.microsoft.com/purview/audit-log-investigate-accounts (MailItemsAccessed)
https://duckdb.org/docs/stable/data/json/loading_json (read_json's columns)
"""

from __future__ import annotations

from mailhunt.formats._ual_shapes import recased_ual

FORMAT = recased_ual(
    "m365-ual-json-lowercase",
    "Microsoft 365 unified audit log, Management Activity API JSON with all keys lower-cased",
    str.lower,
)
