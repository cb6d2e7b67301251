"""The credential vault on the real stores: the secret is only ever ciphertext at rest, tampering is detected,
master-key rotation keeps every secret readable."""

from __future__ import annotations

import base64
import io
import logging
import os
import uuid

import pytest
from sqlalchemy import inspect, select, text, update

from domain.credentials import Credentials
from infra import logs
from infra.vault import CredentialVault, VaultIntegrityError, VaultKeyError, vault_data_keys, vault_secrets
from tests.api.test_accounts import CREDS
from tests.conftest import World


def _all_cells(w: World) -> list[tuple[str, bytes]]:
    cells = []
    with w.c.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if value is None:
                        continue
                    raw = bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else str(value).encode()
                    cells.append((table, raw))
    return cells


def test_a_stored_secret_exists_only_as_ciphertext_in_the_vault_table(world: World,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    secret = f"S3cret-{uuid.uuid4().hex}"
    recovery = f"RC-{uuid.uuid4().hex[:12]}"
    stream = io.StringIO()
    logs.configure("json", "DEBUG", stream)
    caplog.set_level(logging.DEBUG)
    try:
        acc = world.account()
        r = world.client.put(f"/api/v1/accounts/{acc}/credentials", headers=world.h("mod"),
                             json=CREDS | {"password": secret, "mfa_recovery_codes": [recovery]})
        assert r.status_code == 200 and secret not in r.text
        shown = world.post("alice", f"/api/v1/accounts/{acc}/credentials/reveal")
        assert shown.json()["password"] == secret  # the one place it may appear: the reveal response
        gql = world.client.post("/graphql", headers=world.h("head"), json={
            "query": "query($s: ID!) { accounts(schoolId: $s) { id credentialVersion } schoolDashboard(schoolId: $s)"
                     " { activeAccounts } }", "variables": {"s": str(world.school)}})
        assert secret not in gql.text
        bad = world.client.put(f"/api/v1/accounts/{acc}/credentials", headers=world.h("mod"),
                               json=CREDS | {"password": secret, "recovery_phone": "not a phone"})
        assert bad.status_code == 422 and secret not in bad.text
    finally:
        logs.configure("text", "INFO")
    for needle in (secret, recovery):
        hits = {table for table, raw in _all_cells(world) if needle.encode() in raw}
        assert hits == set(), f"{needle} found in plaintext in {hits}"
        assert needle not in stream.getvalue() and needle not in caplog.text
    with world.c.engine.connect() as conn:
        rows = conn.execute(select(vault_secrets).where(vault_secrets.c.account_id == acc)).all()
    assert len(rows) == 1 and rows[0].version == 1 and len(rows[0].ciphertext) > len(secret)
    stored = [e for e in world.c.accounts.events.get(acc) if type(e).__name__ == "CredentialsStored"]
    assert [(e.version, len(e.fingerprint)) for e in stored] == [(1, 32)]  # type: ignore[attr-defined]


def _stored(world: World) -> tuple[uuid.UUID, uuid.UUID]:
    acc = world.account()
    world.client.put(f"/api/v1/accounts/{acc}/credentials", json=CREDS, headers=world.h("mod"))
    with world.c.engine.connect() as conn:
        ref = conn.execute(select(vault_secrets.c.ref).where(vault_secrets.c.account_id == acc)).scalar_one()
    return acc, ref


def test_tampered_ciphertext_is_an_integrity_error_not_garbage(world: World) -> None:
    acc, ref = _stored(world)
    with world.c.engine.begin() as conn:
        ct = conn.execute(select(vault_secrets.c.ciphertext).where(vault_secrets.c.ref == ref)).scalar_one()
        flipped = bytes(ct[:20]) + bytes([ct[20] ^ 0x01]) + bytes(ct[21:])
        conn.execute(update(vault_secrets).where(vault_secrets.c.ref == ref).values(ciphertext=flipped))
    with pytest.raises(VaultIntegrityError, match="integrity check"):
        world.c.vault.reveal(ref, world.school, acc, 1)
    r = world.post("mod", f"/api/v1/accounts/{acc}/credentials/reveal")
    assert r.status_code == 500 and r.json()["title"] == "Credential integrity check failed"
    assert CREDS["password"] not in r.text
    assert [type(e).__name__ for e in world.c.accounts.events.get(acc)][-1] == "CredentialsStored"


def test_ciphertext_moved_to_another_account_or_version_fails_authentication(world: World) -> None:
    acc1, ref1 = _stored(world)
    acc2, ref2 = _stored(world)
    with world.c.engine.begin() as conn:
        ct1 = conn.execute(select(vault_secrets.c.ciphertext).where(vault_secrets.c.ref == ref1)).scalar_one()
        conn.execute(update(vault_secrets).where(vault_secrets.c.ref == ref2).values(ciphertext=ct1))
    with pytest.raises(VaultIntegrityError, match="integrity check"):  # associated data names acc2
        world.c.vault.reveal(ref2, world.school, acc2, 1)
    with world.c.engine.begin() as conn:  # rewriting the row's own columns is caught too
        conn.execute(update(vault_secrets).where(vault_secrets.c.ref == ref1).values(version=2))
    with pytest.raises(VaultIntegrityError):
        world.c.vault.reveal(ref1, world.school, acc1, 1)
    with pytest.raises(VaultIntegrityError, match="integrity check"):
        world.c.vault.reveal(ref1, world.school, acc1, 2)


def test_master_key_rotation_rewraps_data_keys_and_every_secret_still_reveals(world: World) -> None:
    old_key = world.c.settings.master_key
    vault = CredentialVault(world.c.engine, old_key, world.c.clock)
    secrets = {}
    for school in (world.school, world.other_school):
        for i in range(3):
            account_id = uuid.uuid4()
            creds = Credentials(f"login{i}", f"pw-{uuid.uuid4().hex}", mfa_recovery_codes=[f"c{i}"])
            secrets[(school, account_id)] = (vault.store(school, account_id, 1, creds), creds)
    with world.c.engine.connect() as conn:
        before = {r.ref: r.ciphertext for r in conn.execute(select(vault_secrets))}
    new_key = base64.b64encode(os.urandom(32)).decode()
    assert vault.rotate_master_key(new_key) >= 2
    with world.c.engine.connect() as conn:
        after = {r.ref: r.ciphertext for r in conn.execute(select(vault_secrets))}
        key_ids = set(conn.execute(select(vault_data_keys.c.master_key_id)).scalars())
    assert before == after and len(key_ids) == 1
    fresh = CredentialVault(world.c.engine, new_key, world.c.clock)
    for (school, account_id), (ref, creds) in secrets.items():
        assert fresh.reveal(ref, school, account_id, 1) == creds
    with pytest.raises(VaultKeyError):
        CredentialVault(world.c.engine, old_key, world.c.clock).reveal(ref, school, account_id, 1)
    # put the shared test database back on the configured key
    fresh.rotate_master_key(old_key)
