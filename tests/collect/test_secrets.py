"""A full collect at DEBUG, with a secret and with a certificate key: neither (nor an access
token) appears in any log line, exception text, the store file or a landed file."""

from __future__ import annotations

import gzip
import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from mailhunt.collect import Secret, collect
from mailhunt.emulate import Registration
from mailhunt.store.db import Store
from tests.collect.conftest import CLIENT_ID, DAYS, SECRET, START, World

WorldFactory = Callable[..., World]


def _certificate() -> tuple[str, str, bytes]:
    """A self-signed certificate: (private key PEM, SHA-1 thumbprint, public key PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mailhunt-collector")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    thumbprint = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()  # noqa: S324
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, thumbprint.upper(), public


def _leaks(needles: list[str], texts: list[str], files: list[Path]) -> list[str]:
    found = [f"text {n}" for n, text in enumerate(texts) for s in needles if s in text]
    for path in files:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        found += [str(path) for s in needles if s.encode() in data]
    return found


@pytest.mark.parametrize("credential", ["secret", "certificate"])
def test_no_secret_or_token_reaches_logs_errors_store_or_landed_files(
    credential: str,
    world_factory: WorldFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    private, thumbprint, public = _certificate()
    registration = Registration(
        CLIENT_ID, secret=SECRET, certificate_thumbprint=thumbprint, public_key_pem=public
    )
    world = world_factory(registration=registration)
    given = (
        {"secret": Secret(SECRET)}
        if credential == "secret"
        else {"secret": None, "certificate_pem": Secret(private), "thumbprint": thumbprint}
    )
    caplog.set_level(logging.DEBUG)
    store_path = tmp_path / "collected.duckdb"
    store = Store.open(store_path)
    world.clock.set(START + timedelta(days=DAYS, hours=1))
    good = world.config(tmp_path / "land", **given)
    report = collect(good, store, clock=world.clock, backoff=0.01)
    assert not report.errors
    assert store.count("events") > 0
    # and a refused credential: the error names the refusal, not the value sent
    wrong = world.config(tmp_path / "land", name="other", secret=Secret(SECRET + "-wrong"))
    refused = collect(wrong, store, clock=world.clock, backoff=0.01)
    assert refused.errors
    assert all("invalid_client" in (f.error or "") for f in refused.errors)
    store.close()

    needles = [SECRET, private.splitlines()[1], *world.emulator.issued_tokens]
    assert len(needles) > 2  # tokens were issued
    texts = [r.getMessage() for r in caplog.records]
    texts += [caplog.text, repr(good), str(good.tenants[0])]
    texts += [f.error or "" for f in [*report.feeds, *refused.feeds]]
    assert len(caplog.records) > 50  # DEBUG was on: httpx, msal, mailhunt all logged
    files = [store_path, *(tmp_path / "land").rglob("*.json.gz")]
    assert _leaks(needles, texts, files) == []
