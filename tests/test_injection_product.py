"""The SQL, terminal and CSV injection corpora through the whole product: 0 effects.

Every attacker-controlled field of the input (UPNs, tenant ids, application ids and names,
client IPs, user agents, session and token ids, folder names, rule names, record ids) carries a
corpus string, in UAL JSON Lines, a Purview CSV, Entra sign-ins and a Dovecot log, plus
malformed records around it (see ``tests/injection_world.py``). One ingest per corpus, then
detect and every output of every command; a control world built with plain values the same way
must give the same counts. Checked: the store's tables (counts unchanged by the values, no table
or database added, nothing written outside the store, no file read outside the inputs), values
back byte-exact where outputs keep them (the store, JSON Lines, ``show`` when piped), and
terminal and CSV outputs that obey nothing (no control, bidi or format character, Rich markup
shown as written, no CSV cell part a spreadsheet would run).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailhunt.investigate.evidence import original_bytes
from mailhunt.investigate.quarantine import quarantine_listing
from mailhunt.report import renderers
from mailhunt.report.renderers import render
from mailhunt.sources.quarantine import RAW_KEEP_BYTES
from mailhunt.store.db import Store
from tests.injection_world import (
    OUTPUTS_PER_WORLD,
    World,
    csv_effects,
    escaped,
    leaks,
    load_corpus,
    new_world,
    outside_effects,
    raw_controls,
    run,
    run_world,
    snapshot,
    storable,
    store_counts,
    terminal_effects,
    ual_ids,
    write_data_world,
)

DATA_CORPORA = ("sql", "terminal_csv")
CORPUS = {name: load_corpus(name) for name in DATA_CORPORA}
ENTRIES = [(name, key) for name in DATA_CORPORA for key in CORPUS[name]]
SHORT = 1000  # strings longer than this are checked for effects, not found in wide tables


def build(name: str, corpus: dict[str, str], root: Path) -> World:
    with pytest.MonkeyPatch.context() as patch:
        (root / "tmp").mkdir(parents=True)
        patch.setattr(tempfile, "tempdir", str(root / "tmp"))  # work folders: watched
        world = new_world(name, corpus, root)
        world.records = write_data_world(world.inputs, world.corpus)
        return run_world(world)


def plain(corpus: dict[str, str]) -> dict[str, str]:
    """The control corpus: plain values, the same keys (a value that cannot be UTF-8 stays so)."""
    return {
        key: f"plain-{n}" + ("" if storable(value) else "\udcff")
        for n, (key, value) in enumerate(corpus.items())
    }


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, World]:
    built = {}
    for name in DATA_CORPORA:
        built[name] = build(name, CORPUS[name], tmp_path_factory.mktemp(name))
        built[f"{name}/plain"] = build(name, plain(CORPUS[name]), tmp_path_factory.mktemp(name))
    return built


@pytest.fixture(scope="module")
def stores(
    worlds: dict[str, World], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Store]]:
    opened = {
        name: snapshot(worlds[name].db, tmp_path_factory.mktemp("q")) for name in DATA_CORPORA
    }
    yield opened
    for store in opened.values():
        store.close()


def alerts_jsonl(world: World) -> list[dict[str, Any]]:
    return [json.loads(line) for line in world.runs["alerts jsonl"].out.splitlines()]


def quarantine_jsonl(world: World) -> list[dict[str, Any]]:
    return [json.loads(line) for line in world.runs["quarantine jsonl"].out.splitlines()]


# -- the corpora themselves ------------------------------------------------------------------


@pytest.mark.parametrize("name", DATA_CORPORA)
def test_corpus_values_stay_apart_in_lower_case(name: str) -> None:
    """UPNs, tenants and application ids are stored lower-cased: two strings equal in lower
    case would share an alert and make the counts differ from the control for no fault."""
    lowered = [value.lower() for value in CORPUS[name].values()]
    assert len(set(lowered)) == len(lowered)


# -- the store and the files around it -------------------------------------------------------


@pytest.mark.parametrize("name", DATA_CORPORA)
def test_store_counts_are_those_of_plain_values(worlds: dict[str, World], name: str) -> None:
    hostile, control = worlds[name], worlds[f"{name}/plain"]
    assert store_counts(hostile.db) == store_counts(control.db)
    assert store_counts(hostile.root / "scan.duckdb") == store_counts(control.root / "scan.duckdb")
    assert store_counts(hostile.db)["alerts"] >= len(CORPUS[name]) - 1  # the detections fired


@pytest.mark.parametrize("name", DATA_CORPORA)
def test_exit_codes_are_those_of_plain_values(worlds: dict[str, World], name: str) -> None:
    hostile, control = worlds[name], worlds[f"{name}/plain"]
    assert {k: r.code for k, r in hostile.runs.items()} == {
        k: r.code for k, r in control.runs.items()
    }


@pytest.mark.parametrize("name", DATA_CORPORA)
def test_nothing_written_or_read_outside(worlds: dict[str, World], name: str) -> None:
    world = worlds[name]
    assert outside_effects(world) == []  # COPY ... TO, ATTACH
    assert not any(Path(world.root / "tmp").iterdir())  # work folders removed
    for result in world.runs.values():
        assert leaks(result.text) == []  # /etc/passwd, the canary, $HOME


@pytest.mark.parametrize("output", list(OUTPUTS_PER_WORLD))
@pytest.mark.parametrize("name", DATA_CORPORA)
def test_output_obeys_nothing(worlds: dict[str, World], name: str, output: str) -> None:
    """Terminal: no control, bidi or format character; CSV: no cell part a spreadsheet runs;
    JSON Lines: escaped and parseable; and no file created or changed but the store."""
    assert worlds[name].effects.get(output, []) == []


# -- each corpus string ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "key"), ENTRIES)
def test_stored_byte_exact(
    worlds: dict[str, World], stores: dict[str, Store], name: str, key: str
) -> None:
    world = worlds[name]
    value = world.corpus[key]
    ids = ual_ids(list(world.corpus).index(key), value)
    if not storable(value):
        pytest.skip("not UTF-8: quarantined (test_quarantine_jsonl_keeps_the_bytes)")
    columns = "user_agent, session_id, token_id, aad_session_id"
    rows = stores[name].query(f"SELECT {columns} FROM events WHERE record_id = ?", [value])
    assert rows == [(value, value, value, value)]
    rows = stores[name].query(
        "SELECT folder_path, internet_message_id FROM mail_items WHERE record_id IN (?, ?)",
        [value, ids["purview"]],
    )
    assert rows == [(value, value), (value, value)]
    rows = stores[name].query(
        "SELECT app_name, user_agent, session_id, failure_reason, city FROM signins "
        "WHERE record_id = ?",
        [ids["signin"]],
    )
    assert rows == [(value, value, value, value, value)]
    lowered = stores[name].query("SELECT lower(?)", [value])[0][0]
    rows = stores[name].query(
        "SELECT tenant_id, mailbox_upn, actor_upn, client_app_id FROM events WHERE record_id = ?",
        [ids["purview"]],
    )
    assert rows == [(lowered, lowered, lowered, lowered)]


@pytest.mark.parametrize(("name", "key"), ENTRIES)
def test_alert_raised_and_jsonl_exact(
    worlds: dict[str, World], stores: dict[str, Store], name: str, key: str
) -> None:
    """The string's application is first seen on its mailbox: an alert carrying the string,
    whose JSON Lines fields read back exactly the stored values."""
    world = worlds[name]
    value = world.corpus[key]
    ids = ual_ids(list(world.corpus).index(key), value)
    found = [a for a in alerts_jsonl(world) if value in a["event_ids"]]
    if not storable(value):
        assert found == []
        return
    [alert] = [a for a in found if a["rule_id"] == "mailbox-first-seen-app"]
    assert alert["event_ids"] == sorted([value, ids["purview"]])
    [(tenant, mailbox, actor, app, ip)] = stores[name].query(
        "SELECT tenant_id, mailbox_upn, actor_upn, client_app_id, client_ip FROM events "
        "WHERE record_id = ?",
        [value],
    )
    assert alert["tenant_ids"] == [tenant]
    assert alert["mailboxes"] == [mailbox]
    assert alert["users"] == [actor]
    assert app in alert["app_ids"]
    assert alert["client_ips"] == [ip]
    assert f'Application "{value}" ({app}) read 1 mailbox(es)' in alert["summary"]
    assert json.loads(alert["entity"]) == [tenant, app]


@pytest.mark.parametrize(("name", "key"), ENTRIES)
def test_tables_show_markup_and_controls_as_written(
    worlds: dict[str, World], name: str, key: str
) -> None:
    """In a table wide enough not to wrap, the string is shown as written (escaped where it
    holds control or bidi characters): Rich markup in it was not interpreted."""
    world = worlds[name]
    value = world.corpus[key]
    if len(value) > SHORT or not storable(value):
        pytest.skip("checked for effects only (no wide table holds it unwrapped)")
    assert escaped(value) in world.runs["alerts table (wide)"].out  # the application's name
    assert escaped(value.split("\n")[0][:20]) in world.runs["quarantine table (wide)"].out


@pytest.mark.parametrize(("name", "key"), ENTRIES)
def test_quarantine_jsonl_keeps_the_bytes(worlds: dict[str, World], name: str, key: str) -> None:
    world = worlds[name]
    value = world.corpus[key]
    raws = [r["raw"] for r in quarantine_jsonl(world)]
    for kind in ("bad-time", "bad-json"):
        line = world.records[f"{kind}:{value}"]
        kept = line[:RAW_KEEP_BYTES]  # the first bytes of a long record are kept
        assert kept.decode("utf-8", "backslashreplace") in raws


@pytest.mark.parametrize(("name", "key"), ENTRIES)
def test_show_gives_the_exact_bytes(
    worlds: dict[str, World], stores: dict[str, Store], name: str, key: str
) -> None:
    """Piped, `show` writes the record's bytes exactly; its stderr line obeys nothing. (The
    command for the UAL record; the evidence function for the Purview and sign-in ones.)"""
    world = worlds[name]
    value = world.corpus[key]
    ids = ual_ids(list(world.corpus).index(key), value)
    result = run(["show", "--db", str(world.db), "--", ids["ual"]])
    assert terminal_effects(result.err) == []
    assert len(result.err.splitlines()) == 1
    if not storable(value):
        assert result.code == 2  # an id that is not UTF-8 cannot be looked up
        return
    assert result.code == 0, result.err
    assert result.out_bytes.rstrip(b"\n") == world.records[ids["ual"]]
    for record_id in (ids["purview"], ids["signin"]):
        data = original_bytes(stores[name], record_id).data
        assert data.rstrip(b"\r\n") == world.records[record_id]


@pytest.mark.parametrize(("name", "key"), ENTRIES)
def test_show_in_a_terminal_obeys_nothing(worlds: dict[str, World], name: str, key: str) -> None:
    """To a terminal, `show` shows the bytes escaped as the other terminal outputs do (the
    Purview row: its cells hold the string raw)."""
    world = worlds[name]
    value = world.corpus[key]
    if not storable(value) or not raw_controls(value, allowed=""):
        pytest.skip("nothing a terminal would obey")
    record_id = ual_ids(list(world.corpus).index(key), value)["purview"]
    result = run(["show", "--db", str(world.db), "--", record_id], tty=True)
    assert result.code == 0
    assert terminal_effects(result.text) == []
    assert escaped(value.split("\n")[0]) in result.out


@pytest.mark.parametrize(("name", "key"), ENTRIES)
def test_string_as_an_argument_is_data(
    worlds: dict[str, World], stores: dict[str, Store], name: str, key: str
) -> None:
    """The string as a quarantine reason filter (a bound value: every format renders the
    empty listing) and as a `detect --param` value (a one-line usage error); never SQL."""
    world = worlds[name]
    value = world.corpus[key]
    if "\x00" in value:
        pytest.skip("a command-line argument cannot hold NUL")
    if storable(value):
        listing = quarantine_listing(stores[name], reason=value)
        assert listing.records == []
        assert csv_effects(str(render(renderers.QUARANTINE, "csv", listing))) == []
    result = run(["detect", "--db", str(world.db), "--param", f"baseline_days={value}"])
    assert result.code == 2  # refused before the store is opened
    assert len(result.err.splitlines()) == 1
    assert terminal_effects(result.err) == []
