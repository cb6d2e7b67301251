"""The BundleBuilder port: signs evidence bundles with the trust's Ed25519 key from the vault."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import datetime
from typing import Any
from uuid import UUID

from infra.bundle import build_bundle
from infra.vault import CredentialVault


class SignedBundleBuilder:
    def __init__(self, vault: CredentialVault) -> None:
        self.vault = vault

    def build(self, trust_id: UUID, *, incident: dict[str, Any], chronology: list[dict[str, Any]],
              events: list[dict[str, Any]], files: list[tuple[str, bytes]], chain_head: dict[str, Any],
              generated_at: datetime) -> tuple[bytes, str]:
        key, key_id = self.vault.signing_key(trust_id)
        data = build_bundle(incident=incident, chronology=chronology, events=events, files=files,
                            chain_head=chain_head, private_key=key, key_id=key_id, generated_at=generated_at)
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            manifest = z.read("manifest.json")
        return data, hashlib.sha256(manifest).hexdigest()
