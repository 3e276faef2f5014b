"""[collect] of mailhunt.toml and the MAILHUNT_* environment: tenants, clouds, credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailhunt.collect.config import DEFAULT_FEEDS, load
from mailhunt.errors import InputError
from tests.collect.conftest import CLIENT_ID, SECRET

TENANT_A = "968289de-0b2b-456c-be63-c6b285143c3d"
TENANT_B = "0b7e4f1a-2c3d-4e5f-8a9b-0c1d2e3f4a5b"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mailhunt.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_several_tenants_each_with_its_cloud_and_credential(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
    path = _write(
        tmp_path,
        f'[collect]\nland = "x"\n\n[[collect.tenants]]\nname = "a"\ntenant_id = "{TENANT_A}"\n'
        f'client_id = "{CLIENT_ID}"\nclient_secret_env = "A_SECRET"\n\n'
        f'[[collect.tenants]]\nname = "b"\ntenant_id = "{TENANT_B}"\nclient_id = "{CLIENT_ID}"\n'
        f'cloud = "gcc-high"\ncertificate = "{key}"\nthumbprint = "AB12"\nfeeds = ["signins"]\n',
    )
    config = load(path, {"A_SECRET": SECRET})
    a, b = config.tenants
    assert (a.name, a.cloud.manage, a.feeds) == ("a", "manage.office.com", DEFAULT_FEEDS)
    assert a.secret is not None
    assert a.secret.reveal() == SECRET
    assert (b.cloud.login, b.cloud.manage, b.cloud.graph) == (
        "login.microsoftonline.us", "manage.office365.us", "graph.microsoft.us"
    )  # fmt: skip
    assert b.feeds == ("signins",)
    assert b.thumbprint == "AB12"
    assert SECRET not in repr(config)
    assert "BEGIN PRIVATE KEY" not in repr(config)


def test_one_tenant_from_the_environment() -> None:
    environ = {
        "MAILHUNT_TENANT_ID": TENANT_A,
        "MAILHUNT_CLIENT_ID": CLIENT_ID,
        "MAILHUNT_CLIENT_SECRET": SECRET,
        "MAILHUNT_CLOUD": "dod",
    }
    (tenant,) = load(None, environ).tenants
    assert tenant.cloud.manage == "manage.protection.apps.mil"
    assert tenant.cloud.graph == "dod-graph.microsoft.us"
    assert tenant.publisher == TENANT_A


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (f'tenant_id = "{TENANT_A}"\nclient_id = "{CLIENT_ID}"\n', "a client secret or a"),
        (f'tenant_id = "x"\nclient_id = "{CLIENT_ID}"\nclient_secret = "s"\n', "directory's GUID"),
        (
            f'tenant_id = "{TENANT_A}"\nclient_id = "{CLIENT_ID}"\nclient_secret = "s"\n'
            'cloud = "mars"\n',
            "unknown cloud 'mars'",
        ),
        (
            f'tenant_id = "{TENANT_A}"\nclient_id = "{CLIENT_ID}"\nclient_secret_env = "NOPE"\n',
            "NOPE is not set",
        ),
        (
            f'tenant_id = "{TENANT_A}"\nclient_id = "{CLIENT_ID}"\nclient_secret = "s"\n'
            'feeds = ["Audit.Everything"]\n',
            "unknown feed",
        ),
    ],
)
def test_a_bad_tenant_is_named(tmp_path: Path, table: str, message: str) -> None:
    path = _write(tmp_path, f"[[collect.tenants]]\n{table}")
    with pytest.raises(InputError, match=message):
        load(path, {})


def test_no_tenant_anywhere_says_how_to_give_one() -> None:
    with pytest.raises(InputError, match="MAILHUNT_TENANT_ID"):
        load(None, {})
