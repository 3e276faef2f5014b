"""`mailhunt collect --config mailhunt.toml` against the emulator (on the real clock), then
`mailhunt status`; a bad configuration is one line and exit 2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailhunt.cli import main
from mailhunt.emulate import Emulator, Registration, TenantData, serve
from mailhunt.simulate import simulate_tenant
from mailhunt.store.db import Store
from tests.collect.conftest import CLIENT_ID, SECRET


def test_collect_then_status_from_a_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    bed = tmp_path / "bed"
    simulate_tenant(bed, days=2, users=7, start=today - timedelta(days=2), seed=4)
    data = TenantData.from_test_bed(bed)
    emulator = Emulator([(data, Registration(CLIENT_ID, secret=SECRET))])
    monkeypatch.setenv("CONTOSO_SECRET", SECRET)
    database = tmp_path / "mailhunt.duckdb"
    with serve(emulator) as base:
        config = tmp_path / "mailhunt.toml"
        config.write_text(
            f'[collect]\nland = "{tmp_path / "land"}"\nendpoint = "{base}"\n\n'
            f'[[collect.tenants]]\nname = "contoso"\ntenant_id = "{data.tenant_id}"\n'
            f'client_id = "{CLIENT_ID}"\ncloud = "global"\nclient_secret_env = "CONTOSO_SECRET"\n',
            encoding="utf-8",
        )
        assert main(["collect", "--config", str(config), "--db", str(database)]) == 0
    collected = capsys.readouterr().err
    assert "contoso Audit.Exchange:" in collected
    assert SECRET not in collected
    with Store.open(database, read_only=True) as store:
        assert store.count("events") == len(data.ual)
        assert store.count("signins") == len(data.signins)
    assert main(["status", "--db", str(database)]) == 0
    shown = capsys.readouterr().out
    for feed in ("Audit.Exchange", "signins-noninteractive", "directory-audits"):
        assert feed in shown
    # the detect settings reader accepts the [collect] section of the same file
    assert main(["analytics", "--config", str(config)]) == 0


def test_a_bad_collect_config_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "mailhunt.toml"
    config.write_text(
        '[collect]\nendpoint = "http://example.com:80"\n\n[[collect.tenants]]\n'
        'tenant_id = "968289de-0b2b-456c-be63-c6b285143c3d"\n'
        f'client_id = "{CLIENT_ID}"\nclient_secret = "{SECRET}"\n',
        encoding="utf-8",
    )
    assert main(["collect", "--config", str(config), "--db", str(tmp_path / "db")]) == 2
    said = capsys.readouterr().err
    assert "endpoint must be http://127.0.0.1:PORT" in said
    assert len(said.strip().splitlines()) == 1
    assert SECRET not in said
