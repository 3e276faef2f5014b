"""Paths (issue 8.5): names that are not UTF-8, links out of the input folder, and `!` in a
path, which also separates an archive from its member in provenance."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

from mailhunt.ingest import discover, ingest
from mailhunt.investigate.evidence import original_bytes
from mailhunt.store.db import Store
from tests.helpers import at, compact, mail_access, write_jsonl

MAILBOX = "alice@contoso.onmicrosoft.com"


def records(prefix: str) -> list[dict[str, object]]:
    return [mail_access(f"{prefix}-{n}", at(0, 9 + n), MAILBOX, "app-1") for n in range(3)]


def test_a_name_that_is_not_utf8_is_skipped_with_a_note_and_the_rest_stored(
    store: Store, tmp_path: Path
) -> None:
    write_jsonl(tmp_path / "good.jsonl", records("g"))
    write_jsonl(Path(str(tmp_path) + "/bad\udcff.jsonl"), records("b"))
    summary = ingest(store, [tmp_path])
    by_name = {f.path.name: f for f in summary.files}
    assert by_name["good.jsonl"].status == "ingested"
    assert by_name["good.jsonl"].records_new == 3
    assert by_name["bad\\xff.jsonl"].status == "skipped"
    assert "not UTF-8" in (by_name["bad\\xff.jsonl"].detail or "")
    assert not summary.all_stored
    stored = store.query("SELECT source_path, status FROM ingest_runs ORDER BY source_path")
    assert (str(tmp_path / "bad\\xff.jsonl"), "skipped") in stored


def test_a_link_out_of_the_folder_is_not_followed(store: Store, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_bytes(b"TOP-SECRET first bytes\n")
    folder = tmp_path / "in"
    write_jsonl(folder / "good.jsonl", records("g"))
    (folder / "link.jsonl").symlink_to(secret)
    write_jsonl(outside / "inner.jsonl", records("i"))
    (folder / "inside.jsonl").symlink_to(folder / "good.jsonl")
    summary = ingest(store, [folder])
    by_name = {f.path.name: f for f in summary.files}
    assert by_name["link.jsonl"].status == "skipped"
    assert "outside the input folder" in (by_name["link.jsonl"].detail or "")
    assert all("TOP-SECRET" not in (f.detail or "") for f in summary.files)
    # a link within the folder is read (as the file it leads to: stored once)
    assert sorted(f.status for f in summary.files) == ["duplicate", "ingested", "skipped"]
    assert summary.records_new == 3
    # named itself, a link is followed
    assert discover([folder / "link.jsonl"]) == [folder / "link.jsonl"]


def test_evidence_of_a_plain_file_whose_path_holds_a_bang(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "case!1"
    path = folder / "ual!export.jsonl"
    lines = write_jsonl(path, records("p"))
    ingest(store, [path])
    assert original_bytes(store, "p-1").data == lines[1]
    assert original_bytes(store, "p-2", verify=False).data == lines[2]


def test_evidence_of_archive_members_when_paths_and_members_hold_a_bang(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "case!2"
    folder.mkdir()
    packed = folder / "ual!a.jsonl.gz"
    with gzip.open(packed, "wb") as stream:
        stream.write(b"".join(compact(r) + b"\n" for r in records("z")))
    zipped = folder / "x!y.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("m!1.jsonl", b"".join(compact(r) + b"\n" for r in records("m")))
    ingest(store, [folder])
    assert original_bytes(store, "z-1").data == compact(records("z")[1])
    assert original_bytes(store, "m-2").data == compact(records("m")[2])
