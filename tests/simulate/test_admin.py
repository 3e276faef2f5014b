"""Admin and directory records the test bed writes are read into events with what they acted on
and the parameters they were given."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import at, write_jsonl

from mailhunt.ingest import ingest
from mailhunt.simulate.admin import Caller, Change, directory_audit, exchange_cmdlet
from mailhunt.store.db import Store

TENANT = "6f1f3c2a-0b0e-4f67-9a51-3c1d8e2b7a10"
ADMIN = Caller("admin@contoso.onmicrosoft.com", "10032003A1B2C3D4", "203.0.113.9")


def test_cmdlet_and_directory_audit_are_stored_with_object_and_parameters(
    tmp_path: Path,
) -> None:
    cmdlet = exchange_cmdlet(
        "a1000000-0000-4000-8000-000000000001",
        at(1),
        TENANT,
        ADMIN,
        domain="contoso.onmicrosoft.com",
        operation="Add-MailboxPermission",
        object_id="ceo@contoso.onmicrosoft.com",
        parameters={
            "Identity": "ceo@contoso.onmicrosoft.com",
            "User": "admin",
            "AccessRights": "FullAccess",
        },
    )
    consent = directory_audit(
        "a1000000-0000-4000-8000-000000000002",
        at(1, 10),
        TENANT,
        ADMIN,
        operation="Consent to application.",
        object_id="5e0b6c1d-2f3a-4b5c-8d7e-9f0a1b2c3d4e",
        changes=[Change("ConsentAction.Permissions", "Scope: Mail.Read offline_access")],
        targets=[("Mail Helper", 1)],
    )
    write_jsonl(tmp_path / "ual.jsonl", [cmdlet, consent])
    with Store.open(tmp_path / "db.duckdb") as store:
        ingest(store, [tmp_path / "ual.jsonl"])
        rows = store.query("SELECT operation, object_id, parameters FROM events ORDER BY record_id")
    assert rows == [
        (
            "Add-MailboxPermission",
            "ceo@contoso.onmicrosoft.com",
            [
                {"name": "Identity", "value": "ceo@contoso.onmicrosoft.com"},
                {"name": "User", "value": "admin"},
                {"name": "AccessRights", "value": "FullAccess"},
            ],
        ),
        (
            "Consent to application.",
            "5e0b6c1d-2f3a-4b5c-8d7e-9f0a1b2c3d4e",
            [{"name": "ConsentAction.Permissions", "value": "Scope: Mail.Read offline_access"}],
        ),
    ]
