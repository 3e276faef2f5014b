"""The path injection corpus through the whole product: 0 effects.

Each name of ``tests/fixtures/injection/paths.json`` is given to a file, to a folder and to a
zip member (``../``, absolute names, ``!``, ``%``, ``$HOME``, ``~``, glob characters, newline,
ESC and bidi characters, a leading ``-``, bytes that are not UTF-8, 255-byte names, names
shaped like DuckDB addresses ``md:``, ``s3://``, ``http://``, ``:memory:``); the names holding
a ':' are also given on the command line, relative to the working folder, as local paths. Each
file holds one good record and one bad line, so the quarantine lists every name. One ingest,
then every output (see ``tests/injection_world.py``). Checked: every good record stored once
(or, for a name that is not UTF-8, the file skipped with an escaped note), nothing written
outside the store (no member extracted to ``../`` or an absolute path), no address reached,
each name shown escaped, JSON Lines and ``show`` exact.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailhunt.investigate.evidence import original_bytes
from mailhunt.store.db import Store
from tests.helpers import at, mail_access
from tests.injection_world import (
    OUTPUTS_PER_WORLD,
    World,
    compact,
    escaped,
    load_corpus,
    new_world,
    outside_effects,
    run,
    run_world,
    snapshot,
    storable,
    terminal_effects,
    tree,
)

CORPUS = load_corpus("paths")
KEYS = list(CORPUS)
BAD_LINE = b'{"CreationTime": not json\n'
ADDRESS = re.compile(r"^(?::|[A-Za-z][A-Za-z0-9+.\-]*:)")  # scheme: or :name (DuckDB's)
NAME_MAX = 255


def as_file(name: str) -> bool:
    """Whether the name can be one file or folder name."""
    return "/" not in name and name not in {"", ".", ".."}


def read_in_folder(name: str) -> bool:
    """Whether a file of this name in a folder is read: UTF-8, and not hidden (a dot file)."""
    return as_file(name) and storable(name) and not name.startswith(".")


def as_argument(name: str) -> bool:
    """Names given on the command line as local paths: those shaped like an address."""
    return ":" in name


def record(prefix: str, i: int) -> bytes:
    return compact(mail_access(f"{prefix}-{i}", at(0, 9), "alice@contoso.com", "app-1"))


def write_paths_world(world: World) -> list[str]:
    """Files, folders and zip members named with the corpus; the command-line paths."""
    folder = world.inputs
    (folder / "dirs").mkdir(parents=True)
    for i, name in enumerate(CORPUS.values()):
        world.records[f"file-{i}"] = record("file", i)
        world.records[f"dir-{i}"] = record("dir", i)
        world.records[f"zip-{i}"] = record("zip", i)
        world.records[f"arg-{i}"] = record("arg", i)
        if as_file(name):
            (folder / name).write_bytes(record("file", i) + b"\n" + BAD_LINE)
            (folder / "dirs" / name).mkdir()
            (folder / "dirs" / name / "x.jsonl").write_bytes(record("dir", i) + b"\n" + BAD_LINE)
    with zipfile.ZipFile(folder / "members.zip", "w") as archive:
        for i, name in enumerate(CORPUS.values()):
            if storable(name):
                archive.writestr(name, record("zip", i) + b"\n" + BAD_LINE)
    arguments = world.root / "args"
    arguments.mkdir()
    given = []
    for i, name in enumerate(CORPUS.values()):
        if as_argument(name):
            path = arguments / name.lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(record("arg", i) + b"\n" + BAD_LINE)
            given.append(name)
    return given


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("paths")
    absolute = Path(CORPUS["absolute_member"])
    assert not absolute.exists()
    with pytest.MonkeyPatch.context() as patch:
        (root / "tmp").mkdir()
        patch.setattr(tempfile, "tempdir", str(root / "tmp"))
        built = new_world("paths", CORPUS, root)
        given = write_paths_world(built)
        patch.chdir(root / "args")
        run_world(built, [str(built.inputs), *given])
    yield built
    assert not absolute.exists()


@pytest.fixture(scope="module")
def store(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    opened = snapshot(world.db, tmp_path_factory.mktemp("q"))
    yield opened
    opened.close()


@pytest.mark.parametrize("output", list(OUTPUTS_PER_WORLD))
def test_output_obeys_nothing(world: World, output: str) -> None:
    assert world.effects.get(output, []) == []


def test_nothing_written_outside_the_store(world: World) -> None:
    assert outside_effects(world) == []
    assert not Path(CORPUS["absolute_member"]).exists()
    assert not any((world.root / "tmp").iterdir())  # work folders removed
    assert sorted(
        Path(p).name for p in tree(world.root) if "/in/" not in p and "/args/" not in p
    ) == [
        "canary",
        "scan.duckdb",
        "store.duckdb",
    ]


def test_every_good_record_stored_once(store: Store) -> None:
    stored = dict(store.query("SELECT record_id, count(*) FROM events GROUP BY record_id"))
    expected = {}
    for i, name in enumerate(CORPUS.values()):
        if read_in_folder(name):
            expected[f"file-{i}"] = expected[f"dir-{i}"] = 1
        if storable(name):
            expected[f"zip-{i}"] = 1
        if as_argument(name):
            expected[f"arg-{i}"] = 1
    assert stored == expected


@pytest.mark.parametrize("key", KEYS)
def test_name_shown_escaped_in_the_ingest_table(world: World, key: str) -> None:
    name = CORPUS[key]
    text = world.runs["ingest --verbose (rerun: duplicates)"].out
    if as_file(name):  # a name that is not UTF-8 is shown by its bytes: \xff
        assert escaped(os.fsencode(name).decode("utf-8", "backslashreplace")) in text
    if storable(name):
        assert escaped(name.rsplit("/", 1)[-1]) in text  # the member, as sanitised


@pytest.mark.parametrize("key", KEYS)
def test_quarantine_jsonl_names_the_file_exactly(world: World, key: str) -> None:
    """The bad line of each stored file is quarantined under its exact path."""
    i, name = KEYS.index(key), CORPUS[key]
    paths = {
        json.loads(line)["source_path"] for line in world.runs["quarantine jsonl"].out.splitlines()
    }
    if read_in_folder(name):
        assert os.fsdecode(world.inputs / name) in paths
        assert os.fsdecode(world.inputs / "dirs" / name / "x.jsonl") in paths
    if as_argument(name):
        assert any(p.endswith(name.rsplit("/", 1)[-1]) for p in paths)
    assert i >= 0


@pytest.mark.parametrize("key", KEYS)
def test_show_gives_the_exact_bytes(world: World, store: Store, key: str) -> None:
    """Each record's bytes, exactly (the command for the first, the evidence function for
    the others: the same code below the command line)."""
    i, name = KEYS.index(key), CORPUS[key]
    ids = [f"zip-{i}"] if storable(name) else []
    ids += [f"file-{i}", f"dir-{i}"] if read_in_folder(name) else []
    ids += [f"arg-{i}"] if as_argument(name) else []
    if not ids:
        pytest.skip("nothing stored under this name")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(world.root / "args")  # the arguments were relative to it
        result = run(["show", "--db", str(world.db), "--", ids[0]])
        assert result.code == 0, result.err
        assert result.out_bytes.rstrip(b"\n") == world.records[ids[0]]
        assert terminal_effects(result.err) == []
        assert len(result.err.splitlines()) == 1
        for record_id in ids[1:]:
            assert original_bytes(store, record_id).data.rstrip(b"\n") == world.records[record_id]


@pytest.mark.parametrize("key", KEYS)
def test_name_as_the_database_path(world: World, key: str, tmp_path: Path) -> None:
    """--db: an address (md:, s3://, :memory:) refused in one line; any other name is a local
    file, created where it says and nowhere else."""
    name = CORPUS[key]
    if not as_file(name) or not storable(name):
        pytest.skip("not one file name")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        (tmp_path / "in").mkdir()
        (tmp_path / "in" / "one.jsonl").write_bytes(world.records["zip-0"] + b"\n" + BAD_LINE)
        result = run(["ingest", "--db", name, "--", str(tmp_path / "in")])
        created = sorted(p.name for p in tmp_path.iterdir())
    assert terminal_effects(result.err + result.out) == []
    refused = ADDRESS.match(name) or "\\" in name  # an address; '\' read as a separator
    if refused or len(os.fsencode(name + ".wal")) > NAME_MAX:  # or no room for its WAL
        assert result.code == 2
        assert len(result.err.splitlines()) == 1
        assert created == ["in"] if refused else set(created) <= {name, "in"}
    else:
        assert result.code == 1, result.err  # the bad line was quarantined
        assert created == sorted([name, "in"])
