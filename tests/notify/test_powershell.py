"""PowerShell quoting of attacker-chosen values, and steps only where the evidence calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailhunt.notify import folder_name
from mailhunt.notify.powershell import SINGLE_QUOTES, Unquotable, command, quotable, quote
from tests.notify.world import ALPHA, BRAVO

HOSTILE_NAMES = [
    "Move 'invoices' to RSS",
    "x'; Remove-Mailbox -Identity * -Confirm:$false; '",
    "\u2019; Start-Process calc; \u2018",  # PowerShell's other single quotes
    "\u201a\u201b''",
    "$(Invoke-Expression whoami) `n ${env:PATH} @args",
    '"double" quotes; & | > <',
    "ann@alpha.example",
    "\\Inbox\\Räte 日本",
]
UNQUOTABLE = [
    "",
    "a\nb",
    "a\rb",
    "a\x00b",
    "a\u202eb",
    "a\u2028b",
    "tab\there",
    "a\x1b[31m",
    "see https://evil.example",
    "www.evil.example",
    "mailto:x@y",
]


def powershell_literal(text: str, start: int) -> tuple[str, int]:
    """Parse a single-quoted PowerShell literal at ``start`` as PowerShell's tokenizer does:
    any of the five single quotes opens and closes it, a doubled one is one character."""
    assert text[start] in SINGLE_QUOTES
    value, i = [], start + 1
    while i < len(text):
        c = text[i]
        if c in SINGLE_QUOTES:
            if i + 1 < len(text) and text[i + 1] in SINGLE_QUOTES:
                value.append(c)
                i += 2
                continue
            return "".join(value), i + 1
        value.append(c)
        i += 1
    raise AssertionError("unterminated literal")


@pytest.mark.parametrize("value", HOSTILE_NAMES)
def test_a_quoted_value_reads_back_as_one_literal(value: str) -> None:
    quoted = quote(value)
    parsed, end = powershell_literal(quoted, 0)
    assert (parsed, end) == (value, len(quoted))


@pytest.mark.parametrize("value", HOSTILE_NAMES)
def test_a_command_holds_the_value_as_its_argument(value: str) -> None:
    cmd = command(
        "Remove-InboxRule -Mailbox {mailbox} -Identity {name} -Confirm:$false",
        mailbox="ann@alpha.example",
        name=value,
    ).text
    assert cmd is not None
    prefix = "Remove-InboxRule -Mailbox 'ann@alpha.example' -Identity "
    assert cmd.startswith(prefix)
    parsed, end = powershell_literal(cmd, len(prefix))
    assert parsed == value
    assert cmd[end:] == " -Confirm:$false"  # nothing of the value runs after it


@pytest.mark.parametrize("value", UNQUOTABLE)
def test_a_value_that_cannot_be_quoted_leaves_the_command_out(value: str) -> None:
    assert not quotable(value)
    with pytest.raises(Unquotable):
        quote(value)
    made = command(
        "Remove-InboxRule -Mailbox {mailbox} -Identity {name}",
        mailbox="ann@alpha.example",
        name=value,
    )
    assert made.text is None
    assert made.values == ("ann@alpha.example", value)


def test_steps_only_where_the_evidence_calls(notices: Path) -> None:
    alpha = (notices / folder_name(ALPHA) / "notice.md").read_text("utf-8")
    bravo = (notices / folder_name(BRAVO) / "notice.md").read_text("utf-8")
    for cmdlet in (
        "Remove-InboxRule",
        "Set-Mailbox -Identity 'ann@alpha.example' -Forwarding",
        "Remove-MailboxPermission",
        "Update-MgUser",
        "Remove-MgServicePrincipal",
        "Revoke-MgUserSignInSession",
        "New-MgIdentityConditionalAccessNamedLocation",
    ):
        assert cmdlet in alpha
    for cmdlet in (
        "Remove-InboxRule",
        "Forwarding",
        "Remove-MailboxPermission",
        "Update-MgUser",
        "Set-OrganizationConfig",
    ):
        assert cmdlet not in bravo
    assert "Revoke-MgUserSignInSession -UserId 'ben@bravo.example'" in bravo
    assert "CidrAddress = '192.0.2.201/32'" in bravo
