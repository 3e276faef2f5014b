"""A tenant's notice as Markdown and HTML (Jinja2 templates shipped in ``templates/``).

Every value from the evidence is data:

- **HTML**: autoescaped; a strict Content-Security-Policy in a meta element
  (``default-src 'none'``: no script, no request of any kind, no form, no frame) that allows
  the one inline stylesheet by its SHA-256 hash (computed here from the exact text embedded).
- **Markdown**: every value is an inline code span (``md_code``) whose backtick fence is longer
  than any backtick run in the value, so nothing in it is read as markup, a link, an autolink or
  HTML; the environment's ``finalize`` makes this the default for every ``{{ }}`` (only numbers
  and :class:`Markup` a helper returns are written as they are). No tables: a ``|`` splits a GFM
  table cell even inside a code span.
- Both: control, bidi and other unsafe characters are shown escaped (``report.safe``) and
  anything a viewer could take for a link is defanged (``hxxp[:]//``, ``www[.]``): a notice
  holds no link (one with links looks like phishing). Commands are written exactly; a command
  whose value could not be written safely was left out (:mod:`mailhunt.notify.powershell`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from mailhunt.notify.facts import TenantFacts
from mailhunt.notify.steps import steps
from mailhunt.report.safe import terminal_text

_TEMPLATES = "mailhunt.notify"
_BACKTICKS = re.compile(r"`+")


def defang(value: object) -> str:
    """Text shown with unsafe characters escaped and links defanged (never a link)."""
    text = terminal_text(value)
    text = re.sub(r"(?i)\bhttp(?=s?:)", lambda m: m.group()[0] + "xx" + m.group()[3], text)
    text = text.replace("://", "[:]//")
    text = re.sub(r"(?i)\bwww\.", lambda m: m.group()[:3] + "[.]", text)
    return re.sub(
        r"(?i)\b(mailto|javascript|data|file|tel|sms):", lambda m: m.group(1) + "[:]", text
    )


def md_code(value: object) -> Markup:
    """A Markdown inline code span holding ``value`` (defanged): never markup."""
    text = defang(value)
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return Markup(f"{fence}{pad}{text}{pad}{fence}")  # noqa: S704 - a code span, never HTML


def md_block(text: str) -> Markup:
    """A fenced PowerShell code block holding ``text`` (commands, one a line) exactly (the
    fence outruns any backtick run in it)."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return Markup(f"{fence}powershell\n{text}\n{fence}")  # noqa: S704


def _utc(moment: datetime | None) -> str:
    if moment is None:
        return "unknown"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _md_finalize(value: Any) -> Any:
    if isinstance(value, Markup | int) or value is None or value == "":
        return "" if value is None else value
    return md_code(value)


def _environment(markdown: bool) -> Environment:
    # HTML templates (*.html.j2) autoescaped; Markdown is not HTML: its values are made code
    # spans by ``finalize`` instead.
    env = Environment(
        loader=PackageLoader(_TEMPLATES, "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_md_finalize if markdown else None,
    )
    env.filters["utc"] = lambda m: Markup(_utc(m))  # noqa: S704 - digits and letters
    env.filters["data"] = defang
    env.filters["block"] = md_block
    env.filters["md"] = md_code
    return env


def stylesheet() -> str:
    """The notice's inline stylesheet, exactly as embedded."""
    return resources.files(_TEMPLATES).joinpath("templates/notice.css").read_text("utf-8")


def style_hash(css: str) -> str:
    """The CSP source allowing exactly this inline style."""
    digest = hashlib.sha256(css.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _context(facts: TenantFacts) -> dict[str, Any]:
    return {
        "tenant": facts.tenant_id,
        "incidents": [(f, steps(f)) for f in facts.incidents],
    }


def notice_markdown(facts: TenantFacts) -> str:
    return _environment(True).get_template("notice.md.j2").render(**_context(facts))


def notice_html(facts: TenantFacts) -> str:
    css = stylesheet()
    return (
        _environment(False)
        .get_template("notice.html.j2")
        .render(**_context(facts), css=Markup(css), csp_style=Markup(style_hash(css)))  # noqa: S704
    )
