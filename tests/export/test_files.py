"""Atomic writes: the target appears whole or not at all; several files go to a directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailhunt.errors import InputError
from mailhunt.export._files import write_export
from mailhunt.export.base import ExportFile


def test_one_file_to_out(tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    assert write_export(out, [ExportFile("a.jsonl", "{}\n")]) == [out]
    assert out.read_text() == "{}\n"


def test_several_files_into_a_directory(tmp_path: Path) -> None:
    out = tmp_path / "dir"
    files = [ExportFile("a.csv", "a\n"), ExportFile("b.csv", "b\n")]
    assert write_export(out, files) == [out / "a.csv", out / "b.csv"]
    assert (out / "b.csv").read_text() == "b\n"


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "x.jsonl"
    out.write_text("old\n")

    def broken(self: Path, target: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", broken)
    with pytest.raises(InputError, match=r"cannot write .*x.jsonl: No space left on device"):
        write_export(out, [ExportFile("x.jsonl", "new\n")])
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.jsonl"]  # no temp file left
