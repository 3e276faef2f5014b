"""Postfix smtpd SASL authentication lines (SMTP AUTH on submission, smtps or port 25).

Not a format by itself: its rules are read by ``mail_syslog``, the one format for mail syslog
files (Postfix and Dovecot usually share ``mail.log``). What becomes a ``signins`` row:

- ``postfix/smtpd[pid]: warning: host[ip]: SASL LOGIN authentication failed: <reason>``, with
  ``, sasl_username=<user>`` appended by recent Postfix versions (older ones name no user). The
  reason is the SASL server's text: ``authentication failure``, ``(reason unavailable)``, the
  base64 challenge the client dropped at (``UGFzc3dvcmQ6`` is "Password:"), or nothing. Code 1;
  ``Connection lost to authentication server`` is 4 (the SASL server, not the client, failed)
  and ``Invalid authentication mechanism`` is 3 (no credentials checked).
- ``postfix/submission/smtpd[pid]: 4Q..: client=host[ip], sasl_method=PLAIN,
  sasl_username=<user>``: the only trace of a successful login (code 0); a failed login has no
  user unless ``sasl_username=`` is logged.

``app_name`` is ``postfix smtpd``; ``app_id`` the service from the syslog name
(``postfix/submission/smtpd`` -> submission, ``postfix/smtps/smtpd`` -> smtps, plain
``postfix/smtpd`` -> smtp); instances (``postfix-out/...``) are accepted. The client address
may carry ``:port`` (``smtpd_client_port_logging``). Postfix has no session id: the queue id of
a success is a message, not a session, and is not mapped. Everything else Postfix logs
(connect/disconnect, RCPT rejects, ``lost connection after AUTH``, which always follows a failed
attempt already counted) is not an authentication event.

References: https://www.postfix.org/SASL_README.html , https://www.postfix.org/smtpd.8.html ,
https://www.postfix.org/postconf.5.html#smtpd_client_port_logging
"""

from __future__ import annotations

from mailhunt.formats._textlog import Rule

_PREFIX = r"^postfix(?:-[\w.-]+)?/(?:(?P<service>[\w.-]+)/)?smtpd(?:\[\d+\])?: "
_CLIENT = r"[^\[\s]*\[(?P<ip>[^\]]*)\](?::\d+)?"

FAILED_OUTCOMES: tuple[tuple[str, int], ...] = (
    (r"^Connection lost to authentication server", 4),
    (r"(?i)^invalid authentication mechanism", 3),
    (r"", 1),
)


def _smtpd(kind: str, needle: str, message: str, outcomes: tuple[tuple[str, int], ...]) -> Rule:
    """A rule for a line of Postfix's smtpd (the SMTP server, whose SASL authentication the
    lines report): `message` is the pattern after the smtpd prefix."""
    return Rule(
        kind=kind,
        needle=needle,
        pattern=_PREFIX + message,
        app_name="'postfix smtpd'",
        app_id="coalesce(service, 'smtp')",
        outcomes=outcomes,
    )


RULES: tuple[Rule, ...] = (
    _smtpd(
        "postfix-sasl-failed",
        "authentication failed",
        r"warning: " + _CLIENT + r": SASL (?P<driver>[\w-]+) authentication "
        r"failed:(?: (?P<reason>.*?))?(?:, sasl_username=(?P<user>.*))?$",
        FAILED_OUTCOMES,
    ),
    _smtpd(
        "postfix-sasl-login",
        "sasl_username=",
        r"\w+: client=" + _CLIENT + r", sasl_method=(?P<driver>[^,]*), "
        r"sasl_username=(?P<user>.*?)(?:, (?:sasl_sender|orig_queue_id|orig_client)=.*)?$",
        ((r"", 0),),
    ),
)

# A syslog message from Postfix (used by sniffing).
TAGS = (r"postfix(?:-[\w.-]+)?/[\w./-]+(?:\[\d+\])?: ",)
