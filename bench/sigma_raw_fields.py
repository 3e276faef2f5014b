"""Measurement: a Sigma field kept as a column against the same field extracted per rule from
the record's JSON (what keeping every record's bytes in the store would allow).

Run: python bench/sigma_raw_fields.py [--rows N] [--rounds K]. Builds, in a temporary DuckDB
file, N Entra directory audits (default 1,000,000) as the store keeps them (operation,
category, logged_by_service) plus ``raw``: each record's JSON as Azure Monitor delivers it
(~1.3 KB, the envelope and properties with initiatedBy, targetResources, additionalDetails).
Times, best of K: the SigmaHQ rule azure_change_to_authentication_method (LoggedByService,
Category, OperationName) over the columns; over ``json_extract_string(raw, ...)`` with the
keys as written; and case-blind (``lower(raw)`` first: Sigma compares values case-blind, and
exports spell the keys differently). Also the cost of keeping ``raw`` at all: the time to
write the table with and without it and the database's size. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb

_ROWS = """
SELECT 'Directory_' || i AS record_id,
  CASE i % 4 WHEN 0 THEN 'User registered security info' WHEN 1 THEN 'Update user'
    WHEN 2 THEN 'Add member to role' ELSE 'Consent to application' END AS operation,
  CASE i % 3 WHEN 0 THEN 'UserManagement' WHEN 1 THEN 'RoleManagement'
    ELSE 'ApplicationManagement' END AS category,
  CASE i % 5 WHEN 0 THEN 'Authentication Methods' ELSE 'Core Directory' END
    AS logged_by_service
FROM range({rows}) t(i)
"""

_RAW = """
json_object('time', '2024-04-02T09:00:00.1234567Z',
  'resourceId', '/tenants/7f1c9e2a-4b7d-4e8a-9c31-2d5e6f708192/providers/Microsoft.aadiam',
  'operationName', operation, 'operationVersion', '1.0', 'category', 'AuditLogs',
  'tenantId', '7f1c9e2a-4b7d-4e8a-9c31-2d5e6f708192', 'resultSignature', 'None',
  'durationMs', 0, 'callerIpAddress', '203.0.113.' || (i % 250),
  'correlationId', uuid()::VARCHAR, 'Level', 4,
  'properties', json_object('id', record_id, 'category', category,
    'correlationId', uuid()::VARCHAR, 'result', 'success', 'resultReason', '',
    'activityDisplayName', operation, 'activityDateTime', '2024-04-02T09:00:00.1234567+00:00',
    'loggedByService', logged_by_service, 'operationType', 'Update',
    'initiatedBy', json_object('user', json_object('id', uuid()::VARCHAR,
      'displayName', NULL, 'userPrincipalName', 'user' || (i % 5000) || '@contoso.com',
      'ipAddress', '203.0.113.' || (i % 250), 'roles', json_array())),
    'targetResources', json_array(json_object('id', uuid()::VARCHAR, 'displayName', NULL,
      'type', 'User', 'userPrincipalName', 'user' || (i % 5000) || '@contoso.com',
      'modifiedProperties', json_array(json_object('displayName', 'StrongAuthenticationMethod',
        'oldValue', '[]', 'newValue', '[{"MethodType":6,"Default":true}]')),
      'administrativeUnits', json_array())),
    'additionalDetails', json_array(json_object('key', 'User-Agent',
      'value', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36'))))::VARCHAR
"""

_COLUMN_RULE = (
    "SELECT count(*) FROM events WHERE lower(logged_by_service) = 'authentication methods' "
    "AND lower(category) = 'usermanagement' "
    "AND lower(operation) = 'user registered security info'"
)
_RAW_RULE = (
    "SELECT count(*) FROM events WHERE "
    "lower(json_extract_string(raw, '$.properties.loggedByService')) = 'authentication methods' "
    "AND lower(json_extract_string(raw, '$.properties.category')) = 'usermanagement' "
    "AND lower(json_extract_string(raw, '$.operationName')) = 'user registered security info'"
)
_RAW_CASEBLIND_RULE = (
    "SELECT count(*) FROM (SELECT lower(raw) AS r FROM events) WHERE "
    "json_extract_string(r, '$.properties.loggedbyservice') = 'authentication methods' "
    "AND json_extract_string(r, '$.properties.category') = 'usermanagement' "
    "AND json_extract_string(r, '$.operationname') = 'user registered security info'"
)


def _best(connection: duckdb.DuckDBPyConnection, sql: str, rounds: int) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(rounds):
        start = time.perf_counter()
        count = connection.execute(sql).fetchone()[0]  # type: ignore[index]
        times.append(time.perf_counter() - start)
    return min(times), count


def _build(path: Path, rows: int, raw: bool) -> tuple[float, int]:
    """Write the table (with or without raw) into a fresh database: seconds, bytes."""
    connection = duckdb.connect(str(path))
    select = _ROWS.format(rows=rows)
    if raw:
        numbered = select.replace("FROM range", ", i FROM range")
        select = f"SELECT * EXCLUDE (i), {_RAW} AS raw FROM ({numbered})"
    start = time.perf_counter()
    connection.execute(f"CREATE TABLE events AS {select}")
    connection.execute("CHECKPOINT")
    seconds = time.perf_counter() - start
    connection.close()
    return seconds, path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        plain, with_raw = Path(folder) / "plain.duckdb", Path(folder) / "raw.duckdb"
        plain_write, plain_size = _build(plain, args.rows, raw=False)
        raw_write, raw_size = _build(with_raw, args.rows, raw=True)
        connection = duckdb.connect(str(with_raw), read_only=True)
        raw_bytes = connection.execute("SELECT avg(strlen(raw)) FROM events").fetchone()[0]  # type: ignore[index]
        results = [
            ("columns", *_best(connection, _COLUMN_RULE, args.rounds)),
            ("json_extract_string(raw)", *_best(connection, _RAW_RULE, args.rounds)),
            (
                "json_extract_string(lower(raw))",
                *_best(connection, _RAW_CASEBLIND_RULE, args.rounds),
            ),
        ]
        connection.close()
    print(f"{args.rows:,} rows, raw {raw_bytes:.0f} bytes on average, best of {args.rounds}\n")
    print("| rule over | seconds | matches |\n| --- | ---: | ---: |")
    for name, seconds, count in results:
        print(f"| {name} | {seconds:.3f} | {count:,} |")
    print("\n| table | write s | database MB |\n| --- | ---: | ---: |")
    print(f"| columns only | {plain_write:.2f} | {plain_size / 1e6:.0f} |")
    print(f"| columns + raw | {raw_write:.2f} | {raw_size / 1e6:.0f} |")


if __name__ == "__main__":
    main()
