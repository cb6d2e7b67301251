"""Verify a SocialGov incident evidence bundle, offline, with the trust's Ed25519 public key.

    python bundle_verifier.py BUNDLE.zip --public-key trust-public-key.pem

Prints "OK: ..." and exits 0 if the bundle is intact; otherwise prints each problem found, naming the file (and,
for the event log, the line and position), and exits 1.

This file stands alone so it can be handed to a third party: it imports only the Python standard library (3.11+)
and the ``cryptography`` package, never SocialGov itself. ``chain_link`` duplicates infra/bundle.py's, byte for byte.

Checks: manifest.sig is a valid Ed25519 signature over the exact bytes of manifest.json; every file the manifest
lists is in the zip with the stated SHA-256 and size; the zip holds nothing else; each line of events.jsonl has the
link that follows from its prev_link and state, positions increase, consecutive positions chain onto each other,
and none passes the manifest's chain head; chronology.json parses and names the manifest's incident.
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on sys.path: never let a sibling file shadow a standard module.
if sys.path and os.path.realpath(sys.path[0] or os.curdir) == os.path.dirname(os.path.realpath(__file__)):
    del sys.path[0]

import argparse
import base64
import binascii
import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

__all__ = ["GENESIS", "chain_link", "main", "verify_bundle"]

BUNDLE_FORMAT = "socialgov-evidence-bundle/1"
GENESIS = "00" * 32
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
REQUIRED = ("chronology.json", "chronology.pdf", "events.jsonl")
EVENT_FIELDS: dict[str, type] = {
    "position": int,
    "originator_id": str,
    "originator_version": int,
    "topic": str,
    "state_b64": str,
    "prev_link": str,
    "link": str,
}


def chain_link(
    prev_link_hex: str, position: int, originator_id: str, originator_version: int, topic: str, state: bytes
) -> str:
    """The hash-chain link of one event, binding it to all before it. bundle.py and bundle_verifier.py agree."""
    header = f"socialgov-chain/v1\n{position}\n{originator_id}\n{originator_version}\n{topic}\n".encode()
    return hashlib.sha256(bytes.fromhex(prev_link_hex) + hashlib.sha256(header + state).digest()).hexdigest()


def verify_bundle(zip_bytes: bytes, public_key_pem: bytes) -> list[str]:
    """Every problem found in the bundle; an empty list means it is intact and signed by the key's holder."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(zip_bytes))
    except zipfile.BadZipFile as exc:
        return [f"not a readable zip archive: {exc}"]
    with archive:
        return _Verifier(archive, public_key_pem).run()


class _Verifier:
    def __init__(self, archive: zipfile.ZipFile, public_key_pem: bytes) -> None:
        self.archive = archive
        self.public_key_pem = public_key_pem
        self.problems: list[str] = []
        self.members = [info for info in archive.infolist() if not info.is_dir()]
        self.names = {info.filename for info in self.members}

    def run(self) -> list[str]:
        names = [info.filename for info in self.members]
        for name in sorted({name for name in names if names.count(name) > 1}):
            self.problems.append(f"duplicate entry in zip: {name}")
        manifest_bytes = self._read(MANIFEST)
        signature = self._read(SIGNATURE)
        if manifest_bytes is None:
            self.problems.append(f"{MANIFEST}: missing")
        if signature is None:
            self.problems.append(f"{SIGNATURE}: missing")
        if manifest_bytes is not None and signature is not None:
            self._check_signature(manifest_bytes, signature)
        manifest = self._parse_manifest(manifest_bytes) if manifest_bytes is not None else None
        if manifest is not None:
            self._check_entries(manifest)
            self._check_events(manifest.get("chain_head"))
            self._check_chronology(manifest.get("incident_id"))
        return self.problems

    def _read(self, name: str) -> bytes | None:
        if name not in self.names:
            return None
        try:
            return self.archive.read(name)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            self.problems.append(f"{name}: unreadable ({exc})")
            return None

    def _check_signature(self, manifest_bytes: bytes, signature_text: bytes) -> None:
        try:
            key = load_pem_public_key(self.public_key_pem)
        except (ValueError, TypeError) as exc:
            self.problems.append(f"public key could not be read: {exc}")
            return
        if not isinstance(key, Ed25519PublicKey):
            self.problems.append("public key is not an Ed25519 key")
            return
        try:
            signature = base64.b64decode(b"".join(signature_text.split()), validate=True)
            key.verify(signature, manifest_bytes)
        except (binascii.Error, ValueError, InvalidSignature):
            self.problems.append("manifest signature invalid")

    def _parse_manifest(self, manifest_bytes: bytes) -> dict[str, Any] | None:
        try:
            manifest = json.loads(manifest_bytes)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.problems.append(f"{MANIFEST}: not valid JSON ({exc})")
            return None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("entries"), list):
            self.problems.append(f"{MANIFEST}: not a manifest (no list of entries)")
            return None
        if manifest.get("format") != BUNDLE_FORMAT:
            self.problems.append(f"{MANIFEST}: unknown format {manifest.get('format')!r}")
        return manifest

    def _check_entries(self, manifest: dict[str, Any]) -> None:
        listed: set[str] = set()
        for index, entry in enumerate(manifest["entries"]):
            if not (
                isinstance(entry, dict)
                and isinstance(entry.get("path"), str)
                and isinstance(entry.get("sha256"), str)
                and isinstance(entry.get("size"), int)
            ):
                self.problems.append(f"{MANIFEST}: entry {index} is malformed")
                continue
            path: str = entry["path"]
            if path in listed or path in (MANIFEST, SIGNATURE):
                self.problems.append(f"{MANIFEST}: {path} listed more than once")
                continue
            listed.add(path)
            if path not in self.names:
                self.problems.append(f"{path}: missing")
                continue
            self._check_file(path, entry["sha256"], entry["size"])
        for name in sorted(self.names - listed - {MANIFEST, SIGNATURE}):
            self.problems.append(f"unexpected file: {name}")
        for name in REQUIRED:
            if name not in listed:
                self.problems.append(f"{MANIFEST}: does not list {name}")

    def _check_file(self, path: str, sha256: str, size: int) -> None:
        digest = hashlib.sha256()
        found = 0
        try:
            with self.archive.open(path) as member:
                while chunk := member.read(1 << 20):
                    digest.update(chunk)
                    found += len(chunk)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            self.problems.append(f"{path}: unreadable ({exc})")
            return
        if found != size:
            self.problems.append(f"{path}: size mismatch (manifest {size}, found {found})")
        if digest.hexdigest() != sha256.lower():
            self.problems.append(f"{path}: sha256 mismatch")

    def _check_events(self, chain_head: object) -> None:
        raw = self._read("events.jsonl")
        if raw is None:
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.problems.append("events.jsonl: not UTF-8")
            return
        head_position = chain_head.get("position") if isinstance(chain_head, dict) else None
        head_link = chain_head.get("link") if isinstance(chain_head, dict) else None
        if not isinstance(head_position, int) or not isinstance(head_link, str):
            self.problems.append(f"{MANIFEST}: chain_head is malformed")
            head_position = head_link = None
        previous: tuple[int, str] | None = None  # position and link of the line before
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for number, line in enumerate(lines, start=1):
            event = self._parse_event(number, line)
            if event is None:
                previous = None
                continue
            position: int = event["position"]
            where = f"events.jsonl line {number} (position {position})"
            try:
                state = base64.b64decode(event["state_b64"], validate=True)
                link = chain_link(
                    event["prev_link"],
                    position,
                    event["originator_id"],
                    event["originator_version"],
                    event["topic"],
                    state,
                )
            except (binascii.Error, ValueError):
                self.problems.append(f"{where}: state_b64 or prev_link is not well-formed")
                link = None
            if link is not None and link != event["link"]:
                self.problems.append(f"{where}: chain link mismatch")
            if previous is not None:
                if position <= previous[0]:
                    self.problems.append(f"{where}: position does not increase (previous line: {previous[0]})")
                elif position == previous[0] + 1 and event["prev_link"] != previous[1]:
                    self.problems.append(f"{where}: prev_link is not the link of position {previous[0]}")
            if head_position is not None:
                if position > head_position:
                    self.problems.append(f"{where}: beyond the manifest chain head (position {head_position})")
                elif position == head_position and event["link"] != head_link:
                    self.problems.append(f"{where}: link differs from the manifest chain head")
            previous = (position, event["link"])

    def _parse_event(self, number: int, line: str) -> dict[str, Any] | None:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            self.problems.append(f"events.jsonl line {number}: not valid JSON")
            return None
        if not isinstance(event, dict):
            self.problems.append(f"events.jsonl line {number}: not a JSON object")
            return None
        wrong = [
            name
            for name, kind in EVENT_FIELDS.items()
            if not isinstance(event.get(name), kind) or isinstance(event.get(name), bool)
        ]
        if wrong:
            self.problems.append(f"events.jsonl line {number}: missing or malformed {', '.join(wrong)}")
            return None
        return event

    def _check_chronology(self, incident_id: object) -> None:
        raw = self._read("chronology.json")
        if raw is None:
            return
        try:
            chronology = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.problems.append(f"chronology.json: not valid JSON ({exc})")
            return
        if not (
            isinstance(chronology, dict)
            and isinstance(chronology.get("incident"), dict)
            and isinstance(chronology.get("entries"), list)
        ):
            self.problems.append("chronology.json: not a chronology (needs an incident and a list of entries)")
        elif chronology["incident"].get("id") != incident_id:
            self.problems.append("chronology.json: incident id differs from the manifest's")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a SocialGov incident evidence bundle offline.")
    parser.add_argument("bundle", type=Path, help="the evidence bundle (.zip)")
    parser.add_argument("--public-key", required=True, type=Path, help="the trust's Ed25519 public key (PEM)")
    args = parser.parse_args(argv)
    try:
        zip_bytes = args.bundle.read_bytes()
        public_key_pem = args.public_key.read_bytes()
    except OSError as exc:
        print(f"cannot read {exc.filename}: {exc.strerror}")
        return 1
    problems = verify_bundle(zip_bytes, public_key_pem)
    if problems:
        for problem in problems:
            print(problem)
        print(f"FAILED: {len(problems)} problem(s) in {args.bundle}")
        return 1
    print(f"OK: {args.bundle} {_summary(zip_bytes)}")
    return 0


def _summary(zip_bytes: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        manifest = json.loads(archive.read(MANIFEST))
        events = archive.read("events.jsonl").decode("utf-8").splitlines()
    return (
        f"is intact: incident {manifest.get('incident_id')}, {len(manifest['entries'])} files, {len(events)} events, "
        f"signed with key {manifest.get('key_id')} at {manifest.get('generated_at')}, "
        f"chain head position {manifest['chain_head']['position']}"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
