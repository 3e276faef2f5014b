"""The injection corpora through the whole product (issue 8's acceptance): a world of input files
whose attacker-controlled fields carry each corpus string, ingested once per corpus, detected,
and every output of every command captured, with the checks an attacker's success would fail.

Used by ``tests/test_injection_product.py`` (SQL, terminal and CSV corpora in data fields) and
``tests/test_injection_paths.py`` (the path corpus in file, folder and member names), and by
``bench/injection.py`` (the counts for bench/RESULTS.md). The checks are written from the
documented contract, independently of ``mailhunt.report.safe``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import shutil
import sys
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pytest
from rich.console import Console

from mailhunt import cli
from mailhunt.store.db import Store
from tests.helpers import FIXTURES, OUTLOOK, at, mail_access, ual_record, ual_time

CORPORA = ("sql", "terminal_csv", "paths")
OBEYED = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}  # controls, format (bidi), separators, surrogates
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
CANARY_TEXT = "MAILHUNT-CANARY-7c1f"  # the content of a file outside the inputs
HOME_CANARY = "/nonexistent/HOME-CANARY-9d2e"  # $HOME while the commands run
PASSWD_MARK = "root:x:0:0"  # noqa: S105 - what /etc/passwd starts with, not a password
WIDE = 1_000_000  # console width for the rendered-text checks (no wrapping)
csv.field_size_limit(sys.maxsize)  # a cell holds a very long corpus string


# -- corpora ---------------------------------------------------------------------------------


def load_corpus(name: str) -> dict[str, str]:
    """A corpus by key: its strings, then its generated (very long) ones."""
    data = json.loads((FIXTURES / "injection" / f"{name}.json").read_text(encoding="utf-8"))
    strings: dict[str, str] = dict(data["strings"])
    for key, spec in data.get("generated", {}).items():
        strings[key] = spec["repeat"] * spec["times"] + spec["suffix"]
    return strings


def placed(value: str, outside: Path) -> str:
    """A corpus string with its placeholders set: {OUTSIDE} (a folder nothing may be written
    to) and {CANARY} (a file nothing may read)."""
    return value.replace("{OUTSIDE}", str(outside)).replace("{CANARY}", str(outside / "canary"))


# -- independent checks ----------------------------------------------------------------------


@cache
def _obeyed() -> re.Pattern[str]:
    """One character of a category in OBEYED: a class of every such code point, found once
    from ``unicodedata`` (the outputs checked are megabytes; a category look-up per character
    took most of a world's time)."""
    ranges: list[list[int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)) in OBEYED:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges) + "]")


def raw_controls(text: str, allowed: str = "\n") -> list[str]:
    """Characters a terminal would obey (or hide) rather than show."""
    return [c for c in _obeyed().findall(text) if c not in allowed]


def escaped(value: str) -> str:
    """How the documented terminal escape shows a value: each control, format (bidi),
    separator, surrogate or private-use character as \\xNN / \\uNNNN / \\UNNNNNNNN."""
    out = []
    for char in value:
        code = ord(char)
        if unicodedata.category(char) not in OBEYED:
            out.append(char)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


_PARTS = re.compile(r"[;,]")


def runnable_parts(cell: str) -> list[str]:
    """The parts of a cell a spreadsheet could run: its start, and each part after a ';' or a
    ',' (a separator a spreadsheet may split on, OWASP CSV injection)."""
    first, *rest = _PARTS.split(cell)
    found = [first] if first.startswith(FORMULA_START) else []
    return found + [part for part in rest if part.lstrip('"').startswith(FORMULA_START)]


def csv_effects(text: str) -> list[str]:
    """What a spreadsheet or a terminal would obey in a CSV output."""
    effects = [f"raw control {c!r}" for c in sorted(set(raw_controls(text)))]
    if "\r" in text:
        effects.append("raw CR")
    for row in csv.reader(io.StringIO(text)):
        effects += [f"runnable cell part {p[:40]!r}" for cell in row for p in runnable_parts(cell)]
    for row in csv.reader(io.StringIO(text), delimiter=";"):  # as a ';' locale reads it
        effects += [
            f"runnable in a ';' locale {c[:40]!r}" for c in row if c.startswith(FORMULA_START)
        ]
    return effects


def jsonl_effects(text: str) -> list[str]:
    """What a terminal would obey in a JSON Lines output (every line must also parse)."""
    effects = [f"raw control {c!r}" for c in sorted(set(raw_controls(text)))]
    for line in text.splitlines():
        try:
            json.loads(line)
        except ValueError as error:
            effects.append(f"not JSON: {error}")
    return effects


def terminal_effects(text: str) -> list[str]:
    return [f"raw control {c!r}" for c in sorted(set(raw_controls(text)))]


def leaks(text: str) -> list[str]:
    """What an output must never hold: a file outside the inputs, the environment."""
    return [mark for mark in (CANARY_TEXT, HOME_CANARY, PASSWD_MARK) if mark in text]


# -- running the command line in-process -----------------------------------------------------


@dataclass
class Run:
    """One command: its exit code, stdout (text and bytes) and stderr."""

    argv: list[str]
    code: int
    out_bytes: bytes
    err: str

    @property
    def out(self) -> str:
        return self.out_bytes.decode("utf-8", errors="surrogateescape")

    @property
    def text(self) -> str:
        return self.out + self.err


class _Terminal(io.TextIOWrapper):
    """A stdout that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@contextmanager
def captured(width: int, *, tty: bool = False) -> Iterator[tuple[io.BytesIO, io.BytesIO]]:
    """sys.stdout/stderr, the CLI's consoles and the log handler, all into two buffers;
    with tty, stdout says it is a terminal."""
    out_buffer, err_buffer = io.BytesIO(), io.BytesIO()
    wrapper = _Terminal if tty else io.TextIOWrapper
    stdout = wrapper(out_buffer, encoding="utf-8", errors="surrogateescape")
    stderr = io.TextIOWrapper(err_buffer, encoding="utf-8", errors="surrogateescape")
    root = logging.getLogger()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stdout", stdout)
        patch.setattr(sys, "stderr", stderr)
        patch.setattr(
            cli, "out", cli._Stdout(file=stdout, width=width, highlight=False, soft_wrap=False)
        )
        patch.setattr(
            cli, "err", Console(file=stderr, width=width, highlight=False, soft_wrap=True)
        )
        patch.setattr(root, "handlers", [])  # the CLI configures logging, as in a real run
        patch.setattr(root, "level", root.level)
        patch.setenv("HOME", HOME_CANARY)
        try:
            yield out_buffer, err_buffer
        finally:
            stdout.flush()
            stderr.flush()
            stdout.detach()
            stderr.detach()


def run(argv: list[str], width: int = 140, *, tty: bool = False) -> Run:
    with captured(width, tty=tty) as (out, err):
        code = cli.main(argv)
    return Run(argv, code, out.getvalue(), err.getvalue().decode("utf-8", "surrogateescape"))


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root: (size, mtime_ns) by path."""
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            stat = path.lstat()
            found[os.fsdecode(path)] = (stat.st_size, stat.st_mtime_ns)
    return found


def store_counts(db: Path) -> dict[str, int]:
    """Rows of every table and view of the store, and the tables and databases it holds."""
    with duckdb.connect(str(db), read_only=True) as con:
        names = [
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        ]
        counts = {
            name: con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names
        }  # type: ignore[index]
        counts["(databases)"] = len(con.execute("SELECT * FROM duckdb_databases()").fetchall())
        counts["(tables)"] = len(names)
    return counts


def snapshot(db: Path, folder: Path) -> Store:
    """A read-only store over a copy of the world's store, open for the whole module (opening
    the store costs ~0.15 s, and the commands under test open the original themselves)."""
    copy = folder / "snapshot.duckdb"
    shutil.copyfile(db, copy)
    return Store.open(copy, create=False, read_only=True)


# -- the data world: every attacker-controlled field carries the string ----------------------


def compact(record: object) -> bytes:
    """JSON as the Management Activity API writes it; a lone surrogate (a byte that is not
    UTF-8, as Python decodes file names) is written as that byte: a line that is not UTF-8."""
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", errors="surrogateescape")


def storable(value: str) -> bool:
    """Whether a string can be stored as text (a lone surrogate stands for a non-UTF-8 byte)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


PURVIEW_HEADER = ["RecordId", "CreationDate", "RecordType", "Operation", "UserId", "AuditData"]


def ual_ids(i: int, value: str) -> dict[str, str]:
    """The record ids a string is given: the intrusion's UAL record is the string itself."""
    return {
        "ual": value,
        "purview": f"p{i}:{value}",
        "signin": f"s{i}:{value}",
        "rule": f"r{i}:{value}",
    }


def attack(i: int, value: str, record_id: str, hour: int) -> dict[str, Any]:
    """The string's application reads the string's mailbox, every field the string."""
    record = mail_access(
        record_id,
        at(10, hour),
        value,
        value,
        actor=value,
        uti=value,
        ip=value,
        tenant=value,
        client_info=value,
    )
    record["SessionId"] = value
    record["AppAccessContext"]["AADSessionId"] = value
    record["Folders"] = [
        {"Path": value, "FolderItems": [{"InternetMessageId": value, "SizeInBytes": i}]}
    ]
    return record


def write_data_world(folder: Path, corpus: dict[str, str]) -> dict[str, bytes]:
    """UAL JSON Lines, a Purview CSV, Entra sign-ins, a Dovecot log and malformed records,
    every attacker-controlled field the corpus string. Returns each record's bytes by id (and
    the malformed lines by "bad-time:ID" and "bad-json:ID")."""
    ual: list[dict[str, Any]] = []
    purview: list[list[str]] = []
    signins: list[dict[str, Any]] = []
    dovecot: list[str] = []
    bad: list[str] = []
    for i, value in enumerate(corpus.values()):
        ids = ual_ids(i, value)
        base = mail_access(f"b{i}", at(0), value, OUTLOOK, actor=value, tenant=value)
        base["ClientInfoString"] = value
        ual += [base, attack(i, value, ids["ual"], 9)]
        rule = ual_record(
            ids["rule"],
            at(10, 12),
            "New-InboxRule",
            OrganizationId=value,
            UserId=value,
            ClientIP=value,
            Parameters=[
                {"Name": "Name", "Value": value},
                {"Name": "SubjectContainsWords", "Value": value},
            ],
        )
        ual.append(rule)
        audit = attack(i, value, ids["purview"], 11)
        purview.append(
            [
                ids["purview"],
                f"{ual_time(at(10, 11))}.0000000Z",
                "ExchangeItem",
                "MailItemsAccessed",
                value,
                compact(audit).decode("utf-8", "surrogateescape"),
            ]
        )
        signins.append(
            {
                "id": ids["signin"],
                "createdDateTime": ual_time(at(10, 8)) + "Z",
                "userPrincipalName": value,
                "userId": value,
                "appId": value,
                "appDisplayName": value,
                "resourceId": value,
                "ipAddress": value,
                "userAgent": value,
                "isInteractive": True,
                "sessionId": value,
                "uniqueTokenIdentifier": f"tok-{i}",
                "tokenIssuerType": "AzureAD",
                "resourceTenantId": value,
                "homeTenantId": value,
                "status": {"errorCode": 0, "failureReason": value},
                "location": {"city": value, "countryOrRegion": value},
            }
        )
        line = value.replace("\n", " ")  # a newline in a log line is two lines
        dovecot.append(
            f"2024-04-11 09:{i % 60:02d}:00 imap-login: Info: Login: user=<{line}>, method=PLAIN, "
            f"rip=203.0.113.7, lip=192.0.2.10, mpid={i}, TLS, session=<{line}>"
        )
        bad_time = ual_record(value, "not a time " + value, "MailItemsAccessed", UserId=value)
        bad += [compact(bad_time).decode("utf-8", "surrogateescape"), "{" + line + "\u202e"]
    folder.mkdir(parents=True, exist_ok=True)
    expected = {str(r["Id"]): compact(r) for r in ual}
    expected |= {str(r["id"]): compact(r) for r in signins}
    for row in purview:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow(row)
        expected[row[0]] = buffer.getvalue()[:-2].encode("utf-8", "surrogateescape")
    for value, time_line, json_line in zip(corpus.values(), bad[::2], bad[1::2], strict=True):
        expected[f"bad-time:{value}"] = time_line.encode("utf-8", "surrogateescape")
        expected[f"bad-json:{value}"] = json_line.encode("utf-8", "surrogateescape")
    (folder / "ual.jsonl").write_bytes(b"".join(compact(r) + b"\n" for r in ual))
    with (folder / "purview.csv").open(
        "w", encoding="utf-8", errors="surrogateescape", newline=""
    ) as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(PURVIEW_HEADER)
        writer.writerows(purview)
    (folder / "signins.jsonl").write_bytes(b"".join(compact(r) + b"\n" for r in signins))
    (folder / "dovecot.log").write_text(
        "".join(f"{line}\n" for line in dovecot), "utf-8", "surrogateescape"
    )
    good = compact(ual_record("good-first", at(0))).decode()
    (folder / "bad.jsonl").write_text(
        "".join(f"{line}\n" for line in [good, *bad]), "utf-8", "surrogateescape"
    )
    return expected


# -- a whole world run: every command, every output ------------------------------------------


@dataclass
class World:
    """One corpus ingested once, detected, and every output captured."""

    name: str
    corpus: dict[str, str]
    root: Path
    inputs: Path
    outside: Path
    db: Path
    records: dict[str, bytes] = field(default_factory=dict)  # each record's bytes by id
    runs: dict[str, Run] = field(default_factory=dict)
    effects: dict[str, list[str]] = field(default_factory=dict)  # output -> what it obeyed

    def command(
        self, key: str, argv: list[str], width: int = 140, *, writes: Path | None = None
    ) -> Run:
        """Run a command, keep its output, and note any file it created or changed (none may
        appear outside the store for a read-only command; none ever outside the watched root)."""
        before = tree(self.root)
        result = run(argv, width)
        after = tree(self.root)
        changed = sorted(p for p in set(after) | set(before) if after.get(p) != before.get(p))
        if writes:  # the store (file, WAL) and nothing else
            changed = [p for p in changed if not p.startswith(str(writes))]
        if changed:
            self.effects.setdefault(key, []).append(f"files changed: {changed[:5]}")
        self.runs[key] = result
        return result

    def note(self, key: str, found: list[str]) -> None:
        if found:
            self.effects.setdefault(key, []).extend(found)


OUTPUTS_PER_WORLD = {
    "ingest": "terminal",
    "ingest --verbose (rerun: duplicates)": "terminal",
    "detect": "terminal",
    "alerts table": "terminal",
    "alerts table (wide)": "terminal",
    "alerts jsonl": "jsonl",
    "alerts csv": "csv",
    "alerts --min-severity high jsonl": "jsonl",
    "quarantine table": "terminal",
    "quarantine table (wide)": "terminal",
    "quarantine jsonl": "jsonl",
    "quarantine csv": "csv",
    "analytics table": "terminal",
    "analytics jsonl": "jsonl",
    "incidents table": "terminal",
    "incidents jsonl": "jsonl",
    "incidents csv": "csv",
    "blast-radius table": "terminal",
    "blast-radius jsonl": "jsonl",
    "blast-radius csv": "csv",
    "timeline table": "terminal",
    "timeline jsonl": "jsonl",
    "timeline csv": "csv",
    "scan": "terminal",
}
CHECKS: dict[str, Callable[[str], list[str]]] = {
    "terminal": terminal_effects,
    "jsonl": jsonl_effects,
    "csv": csv_effects,
}


PLAIN_MAILBOX = (
    "SELECT min(mailbox_upn) FROM events "
    "WHERE regexp_full_match(mailbox_upn, '[a-z0-9._-]+@[a-z0-9.-]+')"
)


def _first(db: Path, sql: str) -> str | None:
    """The first value a query over the store returns (None when none or no store)."""
    try:
        with duckdb.connect(str(db), read_only=True) as connection:
            row = connection.execute(sql).fetchone()
    except duckdb.Error:
        return None
    return None if row is None or row[0] is None else str(row[0])


def run_world(world: World, paths: list[str] | None = None) -> World:
    """Ingest (then again, as duplicates, verbose), detect, every listing in every format, and
    scan into a second store; each output checked for what it would obey or leak."""
    db = str(world.db)
    given = ["--", *(paths or [str(world.inputs)])]  # a path may start with '-'
    world.command("ingest", ["ingest", "--db", db, *given], writes=world.db)
    world.command(
        "ingest --verbose (rerun: duplicates)",
        ["--verbose", "ingest", "--db", db, *given],
        width=4000,
        writes=world.db,
    )
    world.command("detect", ["detect", "--db", db], writes=world.db)
    for fmt in ("table", "jsonl", "csv"):
        world.command(f"alerts {fmt}", ["alerts", "--db", db, "--format", fmt])
        world.command(f"quarantine {fmt}", ["quarantine", "--db", db, "--format", fmt])
    world.command("alerts table (wide)", ["alerts", "--db", db], width=WIDE)
    world.command("quarantine table (wide)", ["quarantine", "--db", db], width=WIDE)
    world.command(
        "alerts --min-severity high jsonl",
        ["alerts", "--db", db, "--format", "jsonl", "--min-severity", "high"],
    )
    for fmt in ("table", "jsonl"):
        world.command(f"analytics {fmt}", ["analytics", "--format", fmt])
    # the investigation's listings: an incident (detect built them) and a mailbox of the world
    incident = _first(world.db, "SELECT id FROM incidents ORDER BY created_at, id") or "INC-0"
    mailbox = (  # a plain one: a hostile selector is refused (exit 2), which is not the point
        _first(world.db, PLAIN_MAILBOX) or "nobody@example.com"
    )
    for fmt in ("table", "jsonl", "csv"):
        # these two bring incidents up to date first: the store is theirs to write
        world.command(
            f"incidents {fmt}", ["incidents", "--db", db, "--format", fmt], writes=world.db
        )
        world.command(
            f"blast-radius {fmt}",
            ["blast-radius", incident, "--db", db, "--format", fmt],
            writes=world.db,
        )
        world.command(
            f"timeline {fmt}", ["timeline", "--mailbox", mailbox, "--db", db, "--format", fmt]
        )
    scan_db = world.root / "scan.duckdb"
    world.command("scan", ["scan", "--db", str(scan_db), *given], writes=scan_db)
    for key, kind in OUTPUTS_PER_WORLD.items():
        result = world.runs[key]
        world.note(key, CHECKS[kind](result.out) + terminal_effects(result.err))
        world.note(key, leaks(result.text))
    return world


def new_world(name: str, corpus: dict[str, str], root: Path) -> World:
    """The folders of a world: inputs, a folder outside them holding a canary (nothing may be
    written there, the canary never read), and the store."""
    outside = root / "outside"
    outside.mkdir(parents=True)
    (outside / "canary").write_text(f"{CANARY_TEXT}\n", "utf-8")
    placed_corpus = {key: placed(value, outside) for key, value in corpus.items()}
    return World(name, placed_corpus, root, root / "in", outside, root / "store.duckdb")


def outside_effects(world: World) -> list[str]:
    """Files an injected statement created outside the inputs (COPY TO, ATTACH)."""
    return [p for p in tree(world.outside) if not p.endswith("/canary")]
