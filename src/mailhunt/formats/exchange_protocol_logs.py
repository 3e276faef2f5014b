"""Exchange Server (on-premises) protocol logs: IMAP4, POP3 and SMTP Receive logins.

CSV lines under ``#`` header lines (``#Software: Microsoft Exchange Server``, ``#Log-type:``,
``#Fields:``) that repeat at the top of every file. Read as text, not CSV: the framework's CSV
reader takes the first line as the header, and that is ``#Software: ...`` (or, in files whose
headers were stripped, a data row). Each line is split by one positional CSV pattern (quoted
cells, ``""`` escapes), so a comma or ``R=OK`` typed into a user name stays inside its cell.

- IMAP4 / POP3 (``Logging\\Imap4``, ``Logging\\Pop3``): ``dateTime,sessionId,seqNumber,sIp,cIp,
  user,duration,rqsize,rpsize,command,parameters,context[,puid]``. One row per command; the
  logins are ``login``/``authenticate`` (IMAP4) and ``auth``/``pass``/``apop`` (POP3). The
  outcome is in ``context``: ``ErrMsg=AuthFailed:LogonDenied`` or ``R="2 NO ..."``/``-ERR``
  -> 1, ``R=OK``/``R="a1 OK ..."``/``+OK`` -> 0. ``failure_reason`` is ``ErrMsg`` (else the
  reply). Local ports 1143/1993 and 1110/1995 are the mailbox (back end) services, reached by
  the front end on the user's behalf: ``app_name`` says ``back end`` and the client address is
  then the front-end server.
- SMTP Receive (``ProtocolLog\\SmtpReceive``): ``date-time,connector-id,session-id,
  sequence-number,local-endpoint,remote-endpoint,event,data,context``. The server's reply to
  AUTH is the outcome: ``>`` ``235 2.7.0 Authentication successful`` -> 0, ``535 5.7.3
  Authentication unsuccessful`` -> 1. The user name is not on that line (it is base64 in the
  AUTH exchange): ``user_upn`` is NULL, ``session_id`` ties the row to the session's other
  lines. ``app_id`` is submission for local port 587, smtps for 465, else smtp.

Every other line (other commands, ``#`` headers, connection events) is skipped. Times are UTC
(``Z``). ``tenant_id`` is ``onprem:<server>`` from the connector id (``EXCH01\\Default Frontend
EXCH01``) for SMTP; IMAP4/POP3 lines name no server, so NULL. ``record_id`` is
``<sessionId>,<seqNumber>|<md5 of ordinal and line>`` (the session and sequence cells
verbatim). SMTP Send logs share the fields: their ``#Log-type`` header refuses them, and
without headers their lines hold no 235/535 reply of this server, so they give no rows.

References:
https://learn.microsoft.com/previous-versions/office/exchange-server-2010/dd335141(v=exchg.141)
(IMAP4/POP3 log fields), https://learn.microsoft.com/powershell/module/exchange/set-imapsettings
(ProtocolLogEnabled), https://learn.microsoft.com/exchange/mail-flow/connectors/protocol-logging
"""

from __future__ import annotations

import re

from mailhunt.formats._textlog import (
    first_match,
    group,
    lit,
    signins_format,
)
from mailhunt.formats.base import Sample, bare_ip, utc_time

_CELL = r'"(?:[^"]|"")*"|[^,"]*'
_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z"
_ENDPOINT = r"[^,\"]*:\d+"

# Each log's cells: (name, pattern), in order.
POP_IMAP_CELLS = (
    ("ts", _TIME),
    ("session", r"[0-9A-Fa-f]{16}"),
    ("seq", r"\d+"),
    ("local", _ENDPOINT),
    ("remote", _ENDPOINT),
    ("user", _CELL),
    ("duration", r"\d*"),
    ("rqsize", r"\d*"),
    ("rpsize", r"\d*"),
    ("command", r"[^,\"]*"),
    ("parameters", _CELL),
    ("context", _CELL),
)
SMTP_CELLS = (
    ("ts", _TIME),
    ("connector", _CELL),
    ("session", r"[0-9A-Fa-f]{16}"),
    ("seq", r"\d+"),
    ("local", _ENDPOINT),
    ("remote", _ENDPOINT),
    ("event", r"[-+*<>]"),
    ("data", _CELL),
    ("context", _CELL),
)


def _row_pattern(cells: tuple[tuple[str, str], ...]) -> str:
    return "^" + ",".join(f"({pattern})" for _, pattern in cells) + r"(?:,.*)?$"


POP_IMAP_ROW = _row_pattern(POP_IMAP_CELLS)
SMTP_ROW = _row_pattern(SMTP_CELLS)

# Login commands of IMAP4 and POP3, and the protocol each belongs to.
LOGIN_COMMANDS = {
    "login": "imap",
    "authenticate": "imap",
    "auth": "pop3",
    "pass": "pop3",
    "apop": "pop3",
}
BACK_END_PORTS = ("1143", "1993", "1110", "1995")
SMTP_SERVICES = {"587": "submission", "465": "smtps"}
APP_NAMES = {"imap": "exchange imap4", "pop3": "exchange pop3", "smtp": "exchange smtp receive"}

# Outcome of a login command from its context (ErrMsg, else the reply R=).
POP_IMAP_OUTCOMES: tuple[tuple[str, int], ...] = (
    (r"^AuthFailed", 1),
    (r"(?i)^(?:\S+ )?OK\b|^\+OK", 0),
    (r"(?i)^(?:\S+ )?(?:NO|BAD)\b|^-ERR", 1),
)
SMTP_OUTCOMES: tuple[tuple[str, int], ...] = ((r"^235 ", 0), (r"^535 ", 1))
_ERRMSG = r'(?:^|;)ErrMsg="?([^";]*)'  # in the unquoted context cell
_REPLY = r'(?:^|;)R="?([^";]*)'


def _unquote(cell: str) -> str:
    return (
        f"CASE WHEN starts_with({cell}, '\"') THEN replace({cell}[2:-2], '\"\"', '\"') "
        f"ELSE {cell} END"
    )


def _cases(value_sql: str, table: dict[str, str], default: str = "NULL") -> str:
    arms = " ".join(f"WHEN {lit(key)} THEN {lit(value)}" for key, value in table.items())
    return f"CASE {value_sql} {arms} ELSE {default} END"


def _relation() -> str:
    cells = {"p": POP_IMAP_CELLS, "s": SMTP_CELLS}
    split = ", ".join(
        f"regexp_extract(line, {lit(_row_pattern(c))}, {[n for n, _ in c]!r}) AS {alias}"
        for alias, c in cells.items()
    )
    context = _unquote("p.context")
    reason = f"coalesce({group(context, _ERRMSG)}, {group(context, _REPLY)})"
    protocol = _cases("lower(trim(p.command))", LOGIN_COMMANDS)
    port = r"regexp_extract(local, ':(\d+)$', 1)"
    unified = (
        f"CASE WHEN p.ts <> '' THEN {protocol} WHEN s.ts <> '' AND s.event = '>' THEN 'smtp' END "
        f"AS protocol, coalesce(nullif(p.ts, ''), nullif(s.ts, '')) AS ts, "
        f"coalesce(nullif(p.session, ''), nullif(s.session, '')) AS session, "
        f"coalesce(nullif(p.seq, ''), nullif(s.seq, '')) AS seq, "
        f"coalesce(nullif(p.local, ''), nullif(s.local, '')) AS local, "
        f"coalesce(nullif(p.remote, ''), nullif(s.remote, '')) AS remote, "
        f"nullif({_unquote('p.user')}, '') AS user, {_unquote('s.connector')} AS connector, "
        f"CASE WHEN p.ts <> '' THEN {reason} ELSE {_unquote('s.data')} END AS reason"
    )
    code = (
        f"CASE protocol WHEN 'smtp' THEN {first_match('reason', SMTP_OUTCOMES)} "
        f"WHEN 'imap' THEN {first_match('reason', POP_IMAP_OUTCOMES)} "
        f"WHEN 'pop3' THEN {first_match('reason', POP_IMAP_OUTCOMES)} END"
    )
    return (
        f"SELECT *, {code} AS code, {port} AS port FROM (SELECT _ordinal, line, {unified} "
        f"FROM (SELECT _ordinal, line, {split} FROM {{source}}))"
    )


_HEADERS = {
    "#Software": re.compile(r"#Software: Microsoft Exchange Server\s*$"),
    "#Log-type": re.compile(r"#Log-type: (?:IMAP4|POP3|SMTP Receive) Protocol Logs?\s*$"),
    "#Fields": re.compile(
        r"#Fields: (?:dateTime,sessionId,seqNumber,sIp,cIp,user,duration,rqsize,rpsize,command,"
        r"parameters,context(?:,puid)?|date-time,connector-id,session-id,sequence-number,"
        r"local-endpoint,remote-endpoint,event,data,context)\s*$"
    ),
}
_ROWS = (re.compile(POP_IMAP_ROW), re.compile(SMTP_ROW))


def sniff(sample: Sample) -> bool:
    """IMAP4, POP3 or SMTP Receive protocol log lines (most of them: one damaged line among
    the first does not hide the file); their headers, when present, agree."""
    if sample.kind != "text":
        return False
    comments = [line for line in sample.lines if line.startswith("#")]
    rows = [line for line in sample.lines if not line.startswith("#")]
    for line in comments:
        pattern = _HEADERS.get(line.split(":", 1)[0])
        if pattern is not None and not pattern.match(line):
            return False
    if rows:
        matching = sum(any(p.match(line) for p in _ROWS) for line in rows)
        return matching > 0 and 2 * matching >= len(rows)
    return any(_HEADERS["#Log-type"].match(line) for line in comments)


_BACK_END = "(port IN (" + ", ".join(map(lit, BACK_END_PORTS)) + "))"

FORMAT = signins_format(
    name="exchange-protocol-logs",
    description="Exchange Server IMAP4, POP3 and SMTP Receive protocol logs: logins (CSV text)",
    sniff=sniff,
    relation=_relation(),
    id_prefix="session || ',' || seq",
    select={
        "time": utc_time("ts"),
        "tenant_id": "CASE WHEN protocol = 'smtp' AND contains(connector, '\\') "
        "THEN 'onprem:' || lower(split_part(connector, '\\', 1)) END",
        "app_id": f"CASE protocol WHEN 'smtp' THEN {_cases('port', SMTP_SERVICES, lit('smtp'))} "
        f"ELSE protocol END",
        "app_name": f"{_cases('protocol', APP_NAMES)} || "
        f"CASE WHEN {_BACK_END} THEN ' back end' ELSE '' END",
        "client_ip": bare_ip("remote"),
        "failure_reason": "CASE WHEN code <> 0 THEN reason END",
    },
)
