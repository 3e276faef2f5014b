"""A file of nothing but bad records is quarantined fast and in bounded memory: past the cap
(`Limits.quarantine`) a sample is judged and kept, the rest counted, and the file says so."""

from __future__ import annotations

import json
from pathlib import Path

from mailhunt.ingest import ingest
from mailhunt.sources.archives import QUARANTINE_KEEP, Limits
from mailhunt.sources.quarantine import QUARANTINE_SPREAD, kept_places
from mailhunt.store.db import Store
from tests.helpers import at, mail_access

GOOD = 200


def _good() -> list[str]:
    return [
        json.dumps(
            mail_access(
                f"good-{i:04d}",
                at(i / 100, 9),
                "ann@contoso.example",
                "d3590ed6-52b3-4102-aeff-aad2292ab01c",
            )
        )
        for i in range(GOOD)
    ]


def _listing(store: Store) -> dict[str, int]:
    rows = store.query("SELECT reason, count(*) FROM quarantine GROUP BY reason")
    return {str(reason): int(count) for reason, count in rows}


def _check(store: Store, path: Path, bad: int, first_bad_line: int) -> None:
    [result] = ingest(store, [path]).files
    kept = QUARANTINE_KEEP
    assert (result.status, result.records_new, result.quarantined) == ("ingested", GOOD, bad)
    assert (
        f"{bad} record(s) quarantined, {kept} kept: over the cap of {kept} per file, "
        f"{bad - kept} counted only ({bad - kept} not_judged)"
    ) in result.detail
    assert store.count("events") == GOOD
    assert _listing(store) == {"missing_id": kept, "quarantine_cap": 1}
    lines = [
        int(line)
        for (line,) in store.query("SELECT line FROM quarantine WHERE reason = 'missing_id'")
    ]
    # the first records, and some spread up to the file's end
    assert sorted(lines)[: kept - QUARANTINE_SPREAD] == list(
        range(first_bad_line, first_bad_line + kept - QUARANTINE_SPREAD)
    )
    assert max(lines) > first_bad_line + bad * 9 // 10
    [(detail, raw)] = store.query(
        "SELECT detail, raw FROM quarantine WHERE reason = 'missing_id' ORDER BY line LIMIT 1"
    )
    assert detail.startswith("record has no id")
    assert raw == b"{}"
    [(line, detail)] = store.query(
        "SELECT line, detail FROM quarantine WHERE reason = 'quarantine_cap'"
    )
    assert line == 0
    assert f"{bad - kept} counted only" in detail


def test_300k_bad_json_lines_are_counted_past_the_cap(tmp_path: Path) -> None:
    bad = 300_000
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(_good()) + "\n" + "{}\n" * bad)
    with Store.open(None) as store:
        _check(store, path, bad, GOOD + 1)


def test_200k_bad_records_of_a_json_array_are_counted_past_the_cap(tmp_path: Path) -> None:
    bad = 200_000
    path = tmp_path / "bad.json"
    path.write_text("[" + ",\n".join([*_good(), *["{}"] * bad]) + "]")
    with Store.open(None) as store:
        _check(store, path, bad, GOOD + 1)


def test_under_the_cap_every_record_is_kept_and_judged(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(_good()) + "\n" + "{}\n" * 50 + "[1]\n")
    with Store.open(None) as store:
        [result] = ingest(store, [path], limits=Limits(quarantine=51)).files
        assert result.quarantined == 51
        assert "cap" not in result.detail
        assert _listing(store) == {"missing_id": 50, "not_object": 1}


def test_a_small_cap_keeps_a_sample_and_counts_framing_errors_by_their_reason(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(_good()) + "\n" + "{}\n" * 30 + '{"a": "\xff"}\n' * 3)
    path.write_bytes(path.read_bytes().replace(b"\xc3\xbf", b"\xff"))
    with Store.open(None) as store:
        summary = ingest(store, [path], limits=Limits(quarantine=20))
        [result] = summary.files
        assert result.quarantined == 33
        assert "33 record(s) quarantined, 20 kept" in result.detail
        assert sum(summary.reasons.values()) == 33
        counts = _listing(store)
        assert counts.pop("quarantine_cap") == 1
        assert sum(counts.values()) == 20


def test_kept_places() -> None:
    assert kept_places(5, 10) == [0, 1, 2, 3, 4]
    assert kept_places(100, 20) == [*range(18), 18, 59]
    places = kept_places(1_000_000)
    assert len(places) == QUARANTINE_KEEP
    assert places == sorted(set(places))
    assert places[-1] > 990_000
