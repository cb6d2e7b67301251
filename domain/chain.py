"""The audit hash chain's link function: each link covers the previous link and one stored event's canonical
bytes (its position, aggregate, version, type and serialised state). Pure; shared by the chain projection,
`audit verify` and evidence bundles (the standalone verifier carries a byte-identical copy)."""

from __future__ import annotations

import hashlib

GENESIS = "00" * 32


def chain_link(
    prev_link_hex: str, position: int, originator_id: str, originator_version: int, topic: str, state: bytes
) -> str:
    """The hash-chain link of one event, binding it to all before it. bundle.py and bundle_verifier.py agree."""
    header = f"socialgov-chain/v1\n{position}\n{originator_id}\n{originator_version}\n{topic}\n".encode()
    return hashlib.sha256(bytes.fromhex(prev_link_hex) + hashlib.sha256(header + state).digest()).hexdigest()
