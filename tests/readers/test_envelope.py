"""Records inside other tools' envelopes (Wazuh, Elastic, Splunk, Graylog/Logstash/Filebeat):
read into exactly the rows the bare records give, with evidence pointing at the envelope's
bytes, and what an envelope lacks quarantined with the wrapped record's reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailhunt.formats.sniffing import sniff_file
from mailhunt.ingest import ingest
from mailhunt.investigate.evidence import original_bytes
from mailhunt.store.db import Store
from tests.helpers import (
    FIXTURES,
    at,
    mail_access,
    signin_record,
    table_rows,
    write_array,
    write_jsonl,
)

MAILBOX = "alice@contoso.onmicrosoft.com"
ENVELOPES = FIXTURES / "readers" / "envelope"
Wrap = Callable[[dict[str, Any]], dict[str, Any]]


def _wazuh_alert(record: dict[str, Any]) -> dict[str, Any]:
    """Wazuh alerts.json: the integration's event under `data`."""
    return {
        "timestamp": "2024-04-01T09:00:01.000+0000",
        "rule": {"level": 3, "description": "Office 365: Exchange activity", "id": "91545"},
        "agent": {"id": "000", "name": "wazuh-manager"},
        "data": {"integration": "office365", "office365": record},
        "location": "office365",
    }


def _wazuh_event(record: dict[str, Any]) -> dict[str, Any]:
    return {"integration": "office365", "office365": record}


def _elastic(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "@timestamp": "2024-04-01T09:00:01.000Z",
        "event": {"original": json.dumps(record), "dataset": "o365.audit", "module": "o365"},
        "o365": {"audit": {"Operation": record.get("Operation")}},
    }


def _elastic_hit(record: dict[str, Any]) -> dict[str, Any]:
    return {"_index": ".ds-logs-o365.audit-default", "_id": "x1", "_source": _elastic(record)}


def _elastic_flat(record: dict[str, Any]) -> dict[str, Any]:
    return {"@timestamp": "2024-04-01T09:00:01.000Z", "event.original": json.dumps(record)}


def _splunk(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "preview": False,
        "offset": 0,
        "result": {"_raw": json.dumps(record), "_time": "2024-04-01T09:00:01.000+00:00"},
    }


def _graylog(record: dict[str, Any]) -> dict[str, Any]:
    return {"message": json.dumps(record), "source": "o365-collector", "gl2_source_input": "5f0"}


WRAPS: dict[str, Wrap] = {
    "wazuh-alert": _wazuh_alert,
    "wazuh-event": _wazuh_event,
    "elastic-event-original": _elastic,
    "elastic-search-hit": _elastic_hit,
    "elastic-flattened": _elastic_flat,
    "splunk-export": _splunk,
    "graylog-message": _graylog,
}


def _records() -> list[dict[str, Any]]:
    return [
        mail_access(f"rec-{n}", at(0, 9 + n), MAILBOX, "app-1", uti=f"uti-{n}") for n in range(3)
    ]


def _stable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in ("source_ref",)} for row in rows]


@pytest.mark.parametrize("wrap", sorted(WRAPS))
def test_wrapped_records_give_the_rows_of_the_bare_records(tmp_path: Path, wrap: str) -> None:
    bare, wrapped = tmp_path / "bare.jsonl", tmp_path / f"{wrap}.jsonl"
    write_jsonl(bare, _records())
    lines = write_jsonl(wrapped, [WRAPS[wrap](r) for r in _records()])
    sniffed, why = sniff_file(wrapped)
    assert sniffed is not None, why
    assert (sniffed.container, sniffed.format.name) == ("json-envelope", "m365-ual-json")
    with Store.open(None) as plain, Store.open(None) as unwrapped:
        ingest(plain, [bare])
        summary = ingest(unwrapped, [wrapped])
        assert (summary.records_read, summary.records_new, summary.quarantined) == (3, 3, 0)
        assert "unwrapped from" in summary.files[0].detail
        for table in ("events", "mail_items"):
            assert _stable(table_rows(unwrapped, table)) == _stable(table_rows(plain, table))
        assert len(table_rows(unwrapped, "mail_items")) == 3
        # Evidence is the envelope's exact bytes, which hold the record.
        for n, line in enumerate(lines):
            assert original_bytes(unwrapped, f"rec-{n}").data == line


def test_an_array_of_envelopes_is_read(tmp_path: Path) -> None:
    path = tmp_path / "hits.json"
    elements = write_array(path, [_elastic_hit(r) for r in _records()])
    with Store.open(None) as store:
        summary = ingest(store, [path])
        assert (summary.records_new, summary.quarantined) == (3, 0)
        assert original_bytes(store, "rec-1").data == elements[1]


def test_sign_ins_in_graylog_messages_go_to_signins(tmp_path: Path) -> None:
    path = tmp_path / "graylog.jsonl"
    write_jsonl(
        path, [_graylog(signin_record(f"si-{n}", at(0, 8 + n), MAILBOX, "app-1")) for n in range(2)]
    )
    with Store.open(None) as store:
        ingest(store, [path])
        assert [r["record_id"] for r in table_rows(store, "signins")] == ["si-0", "si-1"]


def test_what_an_envelope_lacks_is_quarantined_with_the_inner_reason(tmp_path: Path) -> None:
    records = _records()
    del records[1]["Id"]
    envelopes = [_wazuh_alert(r) for r in records]
    envelopes.insert(2, {"timestamp": "2024-04-01T09:00:02Z", "rule": {"level": 3}})  # no data
    path = tmp_path / "alerts.json"
    write_jsonl(path, envelopes)
    with Store.open(None) as store:
        summary = ingest(store, [path])
        assert (summary.records_read, summary.records_new, summary.quarantined) == (4, 2, 2)
        rows = store.query("SELECT line, reason, detail FROM quarantine ORDER BY line")
        assert rows == [
            (2, "missing_id", "record has no id (Id) (in a wazuh envelope)"),
            (3, "not_wrapped", "record does not hold a wrapped record where its file's others do"),
        ]


def test_the_same_records_bare_and_wrapped_are_stored_once(tmp_path: Path) -> None:
    bare, wrapped = tmp_path / "a-bare.jsonl", tmp_path / "b-wrapped.jsonl"
    write_jsonl(bare, _records())
    write_jsonl(wrapped, [_splunk(r) for r in _records()])
    with Store.open(None) as store:
        summary = ingest(store, [bare, wrapped])
        assert [f.records_new for f in summary.files] == [3, 0]
        assert summary.quarantined == 0


def test_a_file_of_dovecot_lines_shipped_by_filebeat_is_read_as_text() -> None:
    path = ENVELOPES / "filebeat_dovecot.ndjson"
    sniffed, why = sniff_file(path)
    assert sniffed is not None, why
    assert (sniffed.container, sniffed.format.reader) == ("json-envelope", "text")
    with Store.open(None) as store:
        summary = ingest(store, [path])
        result = summary.files[0]
        assert (result.records_read, result.records_new, result.quarantined) == (4, 3, 0)
        assert result.skipped_lines == 1
        users = [r["user_upn"] for r in table_rows(store, "signins", order_by="time")]
        assert users == ["alice@example.org", "bob@example.org", "carol@example.org"]


def test_a_wazuh_alert_file_is_read() -> None:
    path = ENVELOPES / "wazuh_office365_alerts.json"
    with Store.open(None) as store:
        summary = ingest(store, [path])
        result = summary.files[0]
        assert (result.format, result.records_new, result.quarantined) == ("m365-ual-json", 2, 0)
        operations = [r["operation"] for r in table_rows(store, "events", order_by="time")]
        assert operations == ["MailItemsAccessed", "New-InboxRule"]


def test_records_with_a_message_field_that_no_format_claims_are_read_as_they_are(
    tmp_path: Path,
) -> None:
    """An envelope-looking field is not enough: when no format claims what it holds, the
    file is sniffed as it is."""
    record = signin_record("si-9", at(0, 8), MAILBOX, "app-1")
    record["message"] = "a note someone added"
    path = tmp_path / "signins.jsonl"
    write_jsonl(path, [record])
    sniffed, _ = sniff_file(path)
    assert sniffed is not None
    assert (sniffed.container, sniffed.format.name) == ("json-lines", "entra-signins-graph")
