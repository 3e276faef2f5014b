"""Dovecot (IMAP, POP3, ManageSieve, submission) authentication lines, as syslog or its own log.

Not a format by itself: its rules are read by ``mail_syslog``, the one format for mail syslog
files, because Dovecot and Postfix log to the same ``mail.log`` on most servers and a file is
read by one format. What Dovecot writes, and how each line becomes a ``signins`` row:

- Login process, one line per connection when it ends: ``imap-login: Login: user=<u>,
  method=PLAIN, rip=.., lip=.., mpid=.., TLS, session=<..>`` (success, code 0);
  ``Disconnected (auth failed, N attempts in S secs): user=<..>, ..`` and ``Aborted login
  (...)`` (2.3), ``Login aborted: ... (auth failed, ...) (auth_failed)`` (2.4). The words in
  parentheses are the outcome (``client_get_extra_disconnect_reason``): auth failed, user
  disabled, password expired -> 1; no auth attempts, TLS handshake, disallowed cleartext,
  client didn't finish SASL auth -> 3; temporary or internal failure -> 4. ``app_id`` is the
  protocol (imap, pop3, managesieve, submission, lmtp), ``session_id`` the ``session=<..>``.
  A proxy logs ``proxy(user): started proxying to ..`` for a success.
- Auth process, one line per password check (``auth_verbose = yes``): ``auth-worker(pid):
  pam(user,ip[,<session>]): unknown user`` (2) or ``Password mismatch`` /
  ``pam_authenticate() failed: Authentication failure`` (1); Dovecot 2.4 writes
  ``auth(user,ip,sasl:plain)<session>: Info: sql: Password mismatch``. No protocol is named
  (``app_id`` NULL); ``app_name`` is ``dovecot auth <passdb driver>``. A connection with N
  failed attempts gives N auth rows and one login row.
- PAM's own ``pam_unix(dovecot:auth): authentication failure; ... ruser=<user> rhost=<ip>``.

Dovecot's own log file (``log_path``, ``info_log_path``) holds the same messages without syslog:
``<log_timestamp><process prefix><Level>: <message>``, e.g. ``Jun 23 15:04:05 imap-login: Info:
Login: user=<..>`` or ``auth-worker(1234): Info: pam(..)``; the time is strftime of
``log_timestamp`` (default ``%b %d %H:%M:%S``, often ``%Y-%m-%d %H:%M:%S``, ``%{usecs}`` adds a
fraction). Info, Warning and Error lines are read; Debug lines (``auth_debug``) repeat what Info
lines say and Fatal or Panic lines are crashes, never sign-ins: skipped.

Dovecot 1.x: the same login lines with 1.x's outcome words (``Aborted login (auth failed, N
attempts)``; 1.0 ``Aborted login (N authentication attempts)``, code 1, or 3 when N is 0), no
``session=``, addresses mostly IPv4-mapped (``rip=::ffff:203.0.113.7``), and the auth process
named ``auth(default)`` / ``auth-worker(default)`` after its ``auth default {}`` section. Its own
log file puts the master's log prefix before the time and the level before the process:
``dovecot: Jun 23 15:04:05 Info: imap-login: Login: ..``, or (1.0) ``Jun 23 15:04:05 Info:
imap-login: ..``, ``Warn:`` for warnings; the LDA's lines start ``deliver(user): <time>``.

Quirks: the user name is attacker-chosen and may hold ``>, rip=``: the client IP is the last
``rip=`` and the user runs up to the ``>`` before it. ``auth_verbose_passwords`` puts the given
password (or a SHA1 prefix) in the line: it is cut from ``failure_reason`` and the record gets
the warning ``password_in_log`` (the raw line keeps it). Lines without syslog (Dovecot's own
log file) have no host: ``tenant_id`` is then NULL. IPv4-mapped addresses lose ``::ffff:``.

References: https://doc.dovecot.org/2.3/admin_manual/logging/ ,
https://doc.dovecot.org/2.3/settings/core/#core_setting-login_log_format_elements ,
https://doc.dovecot.org/2.3/settings/core/#core_setting-log_timestamp ,
https://doc.dovecot.org/main/core/summaries/settings.html#auth_verbose_passwords ,
https://wiki1.dovecot.org/Logging (1.x), the line layout in
https://github.com/dovecot/core/blob/main/src/lib/failures.c (2.x: time, prefix, level; 1.x:
prefix, time, level)
"""

from __future__ import annotations

from mailhunt.formats._textlog import Rule, group, lit

# The levels of Dovecot's own log file ("Warn" in 1.0). Debug lines repeat what Info lines
# say (auth_debug), Fatal and Panic are crashes: neither is read as a sign-in.
_LEVEL = r"(?:(?:Info|Warn|Warning|Error): )?"
# syslog program tag(s) before Dovecot's own process name, when it logs through syslog; in
# Dovecot 1.x's own log file the level comes before the process name.
_PREFIX = r"^(?:dovecot(?:\[\d+\])?: )?(?:dovecot: )?" + _LEVEL


def _after_last(key: str, value: str) -> str:
    """SQL: the `value` pattern's match right after the last `key` of the message."""
    return (
        f"CASE WHEN contains(msg, {lit(key)}) THEN nullif(regexp_extract("
        f"split_part(msg, {lit(key)}, -1), {lit(value)}), '') END"
    )


# Outcome of a login-process line, from the words it ends the connection with.
LOGIN_OUTCOMES: tuple[tuple[str, int], ...] = (
    (r"^Login$", 0),
    (r"^proxy\(.*\): started proxying to ", 0),
    (
        r"\((?:auth failed|authentication failure|proxy dest auth failed|proxy dest authentication "
        r"failure|user disabled|password expired|login disabled|authorization failed|anonymous "
        r"logins disabled)\b",
        1,
    ),
    (
        r"\((?:no auth attempts|disconnected before auth was ready|disconnected during TLS "
        r"handshake|disconnected before greeting|disconnected while authenticating|client didn't "
        r"finish SASL auth|auth aborted by client|tried to use (?:disabled|disallowed|unsupported)"
        r"|cert required|client didn't send a cert|client sent an (?:untrusted|invalid) cert|sent "
        r"invalid base64)",
        3,
    ),
    (r"\([1-9]\d* authentication attempts\)", 1),  # Dovecot 1.0
    (r"\(0 authentication attempts\)", 3),  # Dovecot 1.0
    (
        r"\((?:auth service reported temporary failure|auth process communication failure|internal "
        r"failure|connection limit reached|proxy dest (?:connection failed|internal failure|remote "
        r"failure|protocol failure|temporary authentication failure))",
        4,
    ),
)

# Outcome of an auth-process (passdb) line, from its message.
AUTH_OUTCOMES: tuple[tuple[str, int], ...] = (
    (r"(?i)unknown user|user not known to the underlying authentication module|no such user", 2),
    (
        r"(?i)password mismatch|authentication failure|permission denied|invalid credentials"
        r"|password verification failed",
        1,
    ),
)

RULES: tuple[Rule, ...] = (
    Rule(
        kind="dovecot-login",
        needle="-login: ",
        pattern=_PREFIX
        + r"(?P<service>imap|pop3|managesieve|submission|lmtp)-login: "
        + _LEVEL
        + r"(?P<reason>.*?):? (?:user=<|method=|rip=)",
        app_name="'dovecot ' || service || '-login'",
        app_id="service",
        outcomes=LOGIN_OUTCOMES,
        fields={
            # the user name may hold '>, rip=': it ends at the '>' before the last rip=
            "user": group("msg", r"[ ,:]user=<(.*)>,? (?:method=\S*,? )?rip="),
            "ip": _after_last(" rip=", r"^[0-9A-Fa-f:.]+"),
            "session": _after_last(" session=<", r"^[^>]+"),
        },
    ),
    Rule(
        kind="dovecot-auth-2.4",
        needle=",sasl:",
        pattern=_PREFIX + r"auth(?:-worker)?\((?P<user>.*?),(?P<ip>[0-9A-Fa-f:.]+),sasl:[\w-]+\)"
        r"<(?P<session>[^>]*)>: " + _LEVEL + r"(?:(?P<driver>[\w-]+)(?:\([^)]*\))?: )?"
        r"(?P<reason>.*)$",
        app_name="concat_ws(' ', 'dovecot auth', driver)",
        app_id="NULL",
        outcomes=AUTH_OUTCOMES,
    ),
    Rule(
        kind="dovecot-auth",
        needle="auth",
        pattern=_PREFIX
        + r"(?:auth|auth-worker)(?:\([^)]*\))?: "
        + _LEVEL
        + r"(?:conn unix:\S+ \([^)]*\): auth-worker<\d+>: )?"
        r"(?P<driver>\w[\w-]*)\((?P<user>.*?),(?P<ip>[0-9A-Fa-f:.]+)(?:,<(?P<session>[^>]*)>)?"
        r",?\): (?P<reason>.*)$",
        app_name="'dovecot auth ' || driver",
        app_id="NULL",
        outcomes=AUTH_OUTCOMES,
    ),
    Rule(
        kind="dovecot-pam-unix",
        needle="pam_unix(dovecot:auth)",
        pattern=r"^(?:dovecot-auth|auth|dovecot)(?:\[\d+\])?: pam_unix\(dovecot:auth\): "
        r"(?P<reason>authentication failure); .*?\bruser=(?P<user>.*?) rhost=(?P<ip>\S*)"
        r"(?:\s+user=.*)?$",
        app_name="'dovecot auth pam_unix'",
        app_id="NULL",
        outcomes=AUTH_OUTCOMES,
    ),
)

# Dovecot's processes and levels, as its own log file names them (sniffing).
_PROCESSES = (
    r"(?i:master|auth|auth-worker|anvil|config|dict|dict-async|director|doveadm|imap|pop3|lmtp"
    r"|submission|managesieve|indexer|indexer-worker|lda|deliver|log|stats|old-stats"
    r"|replicator|aggregator|quota-status|ssl-params|ssl-build-param|imap-hibernate"
    r"|imap-urlauth|imap-urlauth-worker|(?:imap|pop3|managesieve|submission)-login)"
)
_LEVELS = r"(?:Debug|Info|Warn|Warning|Error|Fatal|Panic): "

# A message from Dovecot, through syslog or in its own log file (used by sniffing).
TAGS = (
    r"dovecot(?:\[\d+\])?: ",
    r"dovecot-auth(?:\[\d+\])?: ",
    rf"(?:{_LEVELS})?(?:imap|pop3|managesieve|submission|lmtp)-login: ",
    rf"(?:{_LEVELS})?auth-worker\(",
    r"auth\([^)]*\)<",
    rf"{_PROCESSES}(?:\([^)]*\))?(?:<[^>]*>)*: {_LEVELS}",  # 2.x log file: process, level
    rf"{_LEVELS}(?:{_PROCESSES}(?:\([^)]*\))?: |Dovecot v\d)",  # 1.x log file: level first
)
