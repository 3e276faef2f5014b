"""Microsoft 365 unified audit log records re-serialised with camelCase keys.

The Management Activity API's JSON (lines or array) after a collector re-serialised it with a
camelCase naming policy, at every depth: ``creationTime``, ``id``, ``organizationId``,
``clientIPAddress``, ``mailboxOwnerUPN``, ``folders: [{path, folderItems: [{internetMessageId,
sizeInBytes}]}]``, ``appAccessContext: {uniqueTokenId, aadSessionId, issuedAtTime}``. Values are
untouched. It maps exactly as ``m365_ual`` maps the API's JSON, to the same rows.

Quirk: camelCase is ambiguous for acronyms. The names read are those .NET's
JsonNamingPolicy.CamelCase and Json.NET's CamelCaseNamingStrategy write (a leading run of
capitals lowered: ``AADSessionId`` -> ``aadSessionId``, inner acronyms kept: ``clientIPAddress``).
A pipeline writing ``clientIpAddress`` instead leaves those few fields NULL (the record id, time,
operation and user are read either way). DuckDB's read_json matches keys case-sensitively, hence
a format of its own. References:
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-schema
https://learn.microsoft.com/dotnet/api/system.text.json.jsonnamingpolicy.camelcase
https://duckdb.org/docs/stable/data/json/loading_json (read_json's columns)
"""

from __future__ import annotations

from mailhunt.formats._ual_shapes import camel_case, recased_ual

FORMAT = recased_ual(
    "m365-ual-json-camelcase",
    "Microsoft 365 unified audit log, Management Activity API JSON with camelCase keys",
    camel_case,
)
