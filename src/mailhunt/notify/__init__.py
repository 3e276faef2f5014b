"""``mailhunt notify --out DIR``: one folder of notices per affected tenant.

A tenant is affected when it has an incident not marked false-positive (or, with
``incident_id``, when it is that incident's). Its folder (:func:`folder_name`, a slug of the
tenant id that can never leave ``DIR``) holds ``notice.md`` and ``notice.html`` (what was
accessed and what to do: :mod:`.render`), ``evidence.csv`` and ``messages.csv`` (the
attributed records and the messages read, the incidents CSV export's columns, every cell
through the formula guard) and ``indicators.stix.json`` (the STIX export's bundle of the
tenant's alerts, their evidence restricted to the tenant). Nothing in a folder names another
tenant's mailboxes, users, ids or data (:mod:`.facts`, :mod:`.evidence`).

Files are written atomically (``export._files``). ``DIR`` is created when missing; one that
holds anything is refused unless ``force`` (then only the notice files are replaced: nothing
else is ever deleted or written); a tenant folder that exists as a link or a file is refused.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from mailhunt.errors import InputError
from mailhunt.export._files import write_export
from mailhunt.export.base import ExportFile
from mailhunt.notify.evidence import evidence_files
from mailhunt.notify.facts import TenantFacts, affected_tenants
from mailhunt.notify.render import notice_html, notice_markdown
from mailhunt.store.db import Store

log = logging.getLogger(__name__)

FILES = ("notice.md", "notice.html", "evidence.csv", "messages.csv", "indicators.stix.json")
_SLUG_KEEP = re.compile(r"[^a-z0-9._-]+")
_SLUG_MAX = 64
# Names Windows reserves whatever the extension (a notice folder is often copied there).
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)


@dataclass(frozen=True)
class NoticeResult:
    """One tenant's notice folder."""

    tenant_id: str
    folder: Path
    incidents: int
    mailboxes: int
    messages: int
    files: list[Path]


def folder_name(tenant_id: str) -> str:
    """A safe folder name for a tenant: lower-case letters, digits, ``.``, ``_`` and ``-``,
    never starting with a dot or dash, at most 64 characters; a name that had to change gets
    the first 12 hex digits of the id's SHA-256, so two tenants never share a folder."""
    slug = _SLUG_KEEP.sub("-", tenant_id.lower()).strip(".-")[:_SLUG_MAX].strip(".-")
    changed = slug != tenant_id or not slug or slug.split(".")[0] in _RESERVED
    if changed:
        digest = hashlib.sha256(tenant_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        slug = f"{slug}-{digest}" if slug else f"tenant-{digest}"
    return slug


def _prepare(out: Path, *, force: bool) -> None:
    try:
        if out.exists() and not out.is_dir():
            raise InputError(f"cannot write notices to {out}: not a directory")
        if out.is_dir() and any(out.iterdir()) and not force:
            raise InputError(
                f"{out} is not empty: give an empty or new directory, or --force to replace "
                "the notice files in it"
            )
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot write {out}: {error.strerror or type(error).__name__}") from None


def _folder(out: Path, tenant_id: str) -> Path:
    folder = out / folder_name(tenant_id)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise InputError(f"cannot write notices to {folder}: exists and is not a directory")
    if folder.resolve().parent != out.resolve():  # cannot happen with a slug; kept as a guard
        raise InputError(f"tenant folder {folder} would leave {out}")
    return folder


def notice_files(store: Store, facts: TenantFacts) -> list[ExportFile]:
    """The files of one tenant's folder, in FILES order."""
    evidence, messages, stix = evidence_files(store, facts)
    return [
        ExportFile("notice.md", notice_markdown(facts)),
        ExportFile("notice.html", notice_html(facts)),
        evidence,
        messages,
        stix,
    ]


def write_notices(
    store: Store, out: Path, *, incident_id: str | None = None, force: bool = False
) -> list[NoticeResult]:
    """Write one folder per affected tenant into ``out``; InputError (one line) when ``out``
    cannot take them. Returns what was written, per tenant, in tenant id order."""
    tenants = affected_tenants(store, incident_id)
    _prepare(out, force=force)
    names = [folder_name(t.tenant_id) for t in tenants]
    if len(set(names)) != len(names):  # two ids differing only where the slug changed them
        raise InputError("two tenants map to one folder name")  # pragma: no cover - hashed
    results = []
    for facts in tenants:
        folder = _folder(out, facts.tenant_id)
        paths = write_export(folder, notice_files(store, facts))
        radius = [f.radius for f in facts.incidents]
        results.append(
            NoticeResult(
                facts.tenant_id,
                folder,
                len(facts.incidents),
                len({m.mailbox_upn for r in radius for m in r.mailboxes}),
                len({m.internet_message_id for r in radius for m in r.messages}),
                paths,
            )
        )
        log.info("notice for tenant %s written to %s", facts.tenant_id, folder)
    return results


__all__ = ["FILES", "NoticeResult", "folder_name", "notice_files", "write_notices"]
