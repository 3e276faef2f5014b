"""On-premises mail server syslog (``mail.log``): Dovecot and Postfix authentication events.

One format for both daemons, because on most servers both log to the same file and a file is
read by one format: the line rules are in ``dovecot`` and ``postfix``, the header and mapping
here. Each authentication line becomes a ``signins`` row (``interactive`` true: a client
presenting a password); every other line (deliveries, connects, other daemons, ``#`` comments)
is skipped, not quarantined. Outcome codes: see ``_textlog.CODES``.

The syslog header: a time, an optional host, the program tag. Times:

- BSD syslog (RFC 3164) ``Jan  5 10:11:12`` has no year and no zone. The year is the year of
  the file's modification time (``$ingest_year``), less one for a month later than the
  modification month (``$ingest_month``): a ``Dec 31`` line in a file last written in January
  is from the year before. The clock is the server's local time, stored as if UTC (never
  guessed): such records carry the warnings ``time_without_year`` and ``time_without_zone``.
- RFC 3339 (rsyslog's high-precision format) ``2024-01-05T10:11:12.123456+01:00``: as given,
  converted to UTC. Dovecot's own log file (``log_timestamp``) writes a BSD time or one like
  ``2024-01-05 10:11:12`` without zone (stored as UTC with ``time_without_zone``), either one
  possibly with a fraction (``%{usecs}``); Dovecot 1.x writes its log prefix before the time
  (``dovecot: Jan  5 10:11:12 Info: imap-login: ..``).
- daemontools ``@4000000063b5c6d41a2b3c4d`` TAI64N labels: seconds less 2^62 + 10 (TAI-UTC at
  1970), as ``tai64nlocal`` reads them.

``tenant_id`` is ``onprem:<syslog host, lower-cased>``: on-premises servers have no tenant, and
the host groups the records of one server; NULL when the line names no host (Dovecot's own log
file, multilog). A host is a token not ending in ``:`` and without ``(`` (but syslog's
``(none)``): a Dovecot process such as ``auth(user name,ip,sasl:plain)<..>:`` is not a host.
``record_id`` is ``<the line's time text>|<md5 of ordinal and line>``.

References: https://www.rfc-editor.org/rfc/rfc3164 , https://www.rfc-editor.org/rfc/rfc3339 ,
https://cr.yp.to/libtai/tai64.html , https://www.rsyslog.com/doc/configuration/templates.html
"""

from __future__ import annotations

import re

from mailhunt.formats import dovecot, postfix
from mailhunt.formats._textlog import (
    HEADER,
    SYSLOG_TIME,
    SYSLOG_TIME_WARNINGS,
    rules_relation,
    signins_format,
)
from mailhunt.formats.base import Sample, warnings_sql

RULES = dovecot.RULES + postfix.RULES

_HEADER = re.compile(HEADER)
_TAG = re.compile("|".join(dovecot.TAGS + postfix.TAGS))
_VERBOSE_TAIL = r" ?\((?:SHA1 of )?given password: .*$"  # auth_verbose_passwords


def sniff(sample: Sample) -> bool:
    """Syslog-shaped lines (most of them), at least one from Dovecot or Postfix: its message
    starts with their tag, or the line with Dovecot 1.x's log prefix (before the time)."""
    if sample.kind != "text":
        return False
    lines = [line for line in sample.lines if not line.startswith("#")]
    headers = [m for m in map(_HEADER.match, lines) if m]
    return 2 * len(headers) >= len(lines) > 0 and any(
        m.start(1) > 0 or _TAG.match(m.group(3)) for m in headers
    )


FORMAT = signins_format(
    name="mail-syslog",
    description="Dovecot and Postfix authentication events from mail server syslog (mail.log)",
    sniff=sniff,
    relation=rules_relation(RULES),
    id_prefix="ts",
    select={
        "time": SYSLOG_TIME,
        "tenant_id": "CASE WHEN host <> '' THEN 'onprem:' || lower(host) END",
        "app_id": "app_id",
        "app_name": "app_name",
        "client_ip": r"regexp_replace(ip, '^::ffff:(\d+\.\d+\.\d+\.\d+)$', '\1')",
        "failure_reason": f"CASE WHEN code <> 0 THEN nullif(regexp_replace(reason, "
        f"'{_VERBOSE_TAIL}', ''), '') END",
        "warnings": warnings_sql(
            {**SYSLOG_TIME_WARNINGS, "password_in_log": "contains(reason, '(given password: ')"}
        ),
    },
)
