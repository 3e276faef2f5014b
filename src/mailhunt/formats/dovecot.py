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

Quirks: the user name is attacker-chosen and may hold ``>, rip=``: the client IP is the last
``rip=`` and the user runs up to the ``>`` before it. ``auth_verbose_passwords`` puts the given
password (or a SHA1 prefix) in the line: it is cut from ``failure_reason`` and the record gets
the warning ``password_in_log`` (the raw line keeps it). Lines without syslog (Dovecot's own
``log_path``) have no host: ``tenant_id`` is then NULL. IPv4-mapped addresses lose ``::ffff:``.

References: https://doc.dovecot.org/2.3/admin_manual/logging/ ,
https://doc.dovecot.org/2.3/settings/core/#core_setting-login_log_format_elements ,
https://doc.dovecot.org/main/core/summaries/settings.html#auth_verbose_passwords
"""

from __future__ import annotations

from mailhunt.formats._textlog import Rule, group, lit

# syslog program tag(s) before Dovecot's own process name, when it logs through syslog
_PREFIX = r"^(?:dovecot(?:\[\d+\])?: )?(?:dovecot: )?"


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
        pattern=_PREFIX + r"(?P<service>imap|pop3|managesieve|submission|lmtp)-login: "
        r"(?:Info: )?(?P<reason>.*?):? (?:user=<|method=|rip=)",
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
        r"<(?P<session>[^>]*)>: (?:Info: |Error: )?(?:(?P<driver>[\w-]+)(?:\([^)]*\))?: )?"
        r"(?P<reason>.*)$",
        app_name="concat_ws(' ', 'dovecot auth', driver)",
        app_id="NULL",
        outcomes=AUTH_OUTCOMES,
    ),
    Rule(
        kind="dovecot-auth",
        needle="auth",
        pattern=_PREFIX + r"(?:auth|auth-worker)(?:\([^)]*\))?: (?:Info: |Error: )?"
        r"(?:conn unix:\S+ \([^)]*\): auth-worker<\d+>: )?"
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

# A syslog message from Dovecot (used by sniffing).
TAGS = (
    r"dovecot(?:\[\d+\])?: ",
    r"dovecot-auth(?:\[\d+\])?: ",
    r"(?:imap|pop3|managesieve|submission|lmtp)-login: ",
    r"auth-worker\(",
    r"auth\([^)]*\)<",
)
