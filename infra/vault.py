"""The credential vault: envelope encryption with AES-256-GCM.

Each school has a random 256-bit data key, stored wrapped (AES-GCM) by the master key. Each credential version
is encrypted with its school's data key, with the school, account and version bound as associated data, so a
ciphertext moved to another row or edited fails to decrypt instead of yielding garbage. Master-key rotation
re-wraps the data keys only; ciphertexts are untouched."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from sqlalchemy import Column, Engine, Integer, LargeBinary, String, Table, Uuid, insert, select, update
from sqlalchemy.exc import IntegrityError

from domain.credentials import Credentials
from services.ports import Clock
from services.readmodel import UtcDateTime, metadata

vault_data_keys = Table(
    "vault_data_keys", metadata,
    Column("school_id", Uuid, primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=False, comment="nonce(12) || AES-GCM(master key, data key)"),
    Column("master_key_id", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

vault_secrets = Table(
    "vault_secrets", metadata,
    Column("ref", Uuid, primary_key=True),
    Column("school_id", Uuid, nullable=False, index=True),
    Column("account_id", Uuid, nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False, comment="nonce(12) || AES-GCM(data key, credentials JSON)"),
    Column("created_at", UtcDateTime(), nullable=False),
)


trust_signing_keys = Table(
    "trust_signing_keys", metadata,
    Column("trust_id", Uuid, primary_key=True),
    Column("key_id", String(16), nullable=False),
    Column("public_key_pem", LargeBinary, nullable=False),
    Column("wrapped_private_key", LargeBinary, nullable=False, comment="nonce || AES-GCM(master key, raw Ed25519)"),
    Column("master_key_id", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)


class VaultIntegrityError(Exception):
    """A ciphertext, its associated data or a wrapped key was altered, or the wrong key was used."""


class VaultKeyError(Exception):
    """The configured master key is not the one the data keys were wrapped with."""


def decode_master_key(b64: str) -> bytes:
    key = base64.b64decode(b64, validate=True)
    if len(key) != 32:
        raise VaultKeyError("the master key must be 32 bytes (base64)")
    return key


def master_key_id(key: bytes) -> str:
    return hmac.new(key, b"socialgov/master-key-id", hashlib.sha256).hexdigest()[:16]


def _dek_ad(school_id: UUID) -> bytes:
    return b"socialgov/dek/v1|" + str(school_id).encode()


def _secret_ad(school_id: UUID, account_id: UUID, version: int) -> bytes:
    return f"socialgov/credentials/v1|{school_id}|{account_id}|{version}".encode()


def _signing_ad(trust_id: UUID) -> bytes:
    return b"socialgov/signing-key/v1|" + str(trust_id).encode()


def _seal(key: bytes, plaintext: bytes, ad: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, ad)


def _open(key: bytes, sealed: bytes, ad: bytes, what: str) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:12], sealed[12:], ad)
    except (InvalidTag, ValueError):
        raise VaultIntegrityError(f"{what} failed its integrity check (altered, moved, or wrong key)") from None


class CredentialVault:
    def __init__(self, engine: Engine, master_key_b64: str, clock: Clock) -> None:
        self.engine = engine
        self._master = decode_master_key(master_key_b64)
        self.clock = clock

    def _data_key(self, school_id: UUID, create: bool) -> bytes:
        with self.engine.connect() as conn:
            row = conn.execute(select(vault_data_keys).where(vault_data_keys.c.school_id == school_id)).first()
        if row is None:
            if not create:
                raise VaultIntegrityError("no data key for this school")
            dek = AESGCM.generate_key(bit_length=256)
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(vault_data_keys).values(
                        school_id=school_id, wrapped_key=_seal(self._master, dek, _dek_ad(school_id)),
                        master_key_id=master_key_id(self._master), created_at=self.clock.now()))
                return dek
            except IntegrityError:  # created concurrently: use theirs
                return self._data_key(school_id, create=False)
        if row.master_key_id != master_key_id(self._master):
            raise VaultKeyError("the data keys were wrapped with another master key (rotate or restore the key)")
        return _open(self._master, row.wrapped_key, _dek_ad(school_id), "the school's data key")

    def fingerprint(self, school_id: UUID, credentials: Credentials) -> str:
        """A keyed fingerprint: tells versions apart without revealing or allowing a guess of the secret."""
        fkey = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=b"socialgov/fingerprint").derive(self._data_key(school_id, create=True))
        canonical = json.dumps(credentials.to_dict(), sort_keys=True, separators=(",", ":")).encode()
        return hmac.new(fkey, canonical, hashlib.sha256).hexdigest()[:32]

    def store(self, school_id: UUID, account_id: UUID, version: int, credentials: Credentials) -> UUID:
        dek = self._data_key(school_id, create=True)
        ref = uuid.uuid4()
        plaintext = json.dumps(credentials.to_dict(), separators=(",", ":")).encode()
        with self.engine.begin() as conn:
            conn.execute(insert(vault_secrets).values(
                ref=ref, school_id=school_id, account_id=account_id, version=version,
                ciphertext=_seal(dek, plaintext, _secret_ad(school_id, account_id, version)),
                created_at=self.clock.now()))
        return ref

    def reveal(self, ref: UUID, school_id: UUID, account_id: UUID, version: int) -> Credentials:
        with self.engine.connect() as conn:
            row = conn.execute(select(vault_secrets).where(vault_secrets.c.ref == ref)).first()
        if row is None:
            raise VaultIntegrityError("the credential version is missing from the vault")
        # The row's own columns must agree with what the event log says, and the AD binds them cryptographically.
        if (row.school_id, row.account_id, row.version) != (school_id, account_id, version):
            raise VaultIntegrityError("the vault row does not belong to this account and version")
        plaintext = _open(self._data_key(school_id, create=False), row.ciphertext,
                          _secret_ad(row.school_id, row.account_id, row.version), "the stored credentials")
        return Credentials.from_dict(json.loads(plaintext))

    # ----- the trust's Ed25519 signing key (evidence bundles) -----
    def signing_key(self, trust_id: UUID) -> tuple[Ed25519PrivateKey, str]:
        """The trust's signing key and its id, created on first use; the private half is wrapped like a DEK."""
        t = trust_signing_keys
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.trust_id == trust_id)).first()
        if row is None:
            key = Ed25519PrivateKey.generate()
            raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
            public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(t).values(
                        trust_id=trust_id, key_id=hashlib.sha256(public).hexdigest()[:16], public_key_pem=public,
                        wrapped_private_key=_seal(self._master, raw, _signing_ad(trust_id)),
                        master_key_id=master_key_id(self._master), created_at=self.clock.now()))
            except IntegrityError:
                pass
            return self.signing_key(trust_id)
        if row.master_key_id != master_key_id(self._master):
            raise VaultKeyError("the signing key was wrapped with another master key")
        raw = _open(self._master, row.wrapped_private_key, _signing_ad(trust_id), "the trust's signing key")
        return Ed25519PrivateKey.from_private_bytes(raw), row.key_id

    def public_key_pem(self, trust_id: UUID) -> bytes:
        key, _ = self.signing_key(trust_id)
        return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)

    def rotate_master_key(self, new_master_key_b64: str) -> int:
        """Re-wraps every school's data key and trust signing key with the new master key in one transaction.
        Returns how many keys were re-wrapped."""
        new = decode_master_key(new_master_key_b64)
        count = 0
        with self.engine.begin() as conn:
            rows = conn.execute(select(vault_data_keys).with_for_update()).all()
            for row in rows:
                if row.master_key_id == master_key_id(new):
                    continue
                if row.master_key_id != master_key_id(self._master):
                    raise VaultKeyError(f"data key of school {row.school_id} is wrapped with an unknown master key")
                dek = _open(self._master, row.wrapped_key, _dek_ad(row.school_id), "a school's data key")
                conn.execute(update(vault_data_keys).where(vault_data_keys.c.school_id == row.school_id).values(
                    wrapped_key=_seal(new, dek, _dek_ad(row.school_id)), master_key_id=master_key_id(new)))
                count += 1
            for row in conn.execute(select(trust_signing_keys).with_for_update()).all():
                if row.master_key_id == master_key_id(new):
                    continue
                raw = _open(self._master, row.wrapped_private_key, _signing_ad(row.trust_id), "a signing key")
                conn.execute(update(trust_signing_keys).where(trust_signing_keys.c.trust_id == row.trust_id).values(
                    wrapped_private_key=_seal(new, raw, _signing_ad(row.trust_id)), master_key_id=master_key_id(new)))
                count += 1
        self._master = new
        return count
