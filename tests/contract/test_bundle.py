"""Incident evidence bundles: built by infra/bundle.py, verified offline by the standalone infra/bundle_verifier.py.

A third party holding only the trust's public key must be able to tell that nothing in the bundle was altered,
added or removed; every tampering below is caught and the problem names the file (or event line) concerned.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import inspect
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pypdf import PdfReader

from infra import bundle_verifier
from infra.bundle import GENESIS, build_bundle, chain_link, safe_filename
from infra.bundle_verifier import verify_bundle

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "infra" / "bundle_verifier.py"
GENERATED_AT = datetime(2026, 3, 30, 9, 15, tzinfo=UTC)
INCIDENT_ID = "5d0c8f2e-3b1a-4c6e-9a57-0f3e2d1c4b6a"
ORIGINATOR = "7f1c0000-0000-4000-8000-000000000001"
TITLE = "Defamatory comments about a teacher on the school Facebook page"
LONG_TEXT = (
    "A parent posted a series of comments naming a member of staff and alleging misconduct. "
    "The comments were screenshotted before being hidden, the parent was contacted by the headteacher, "
    "and the designated safeguarding lead was consulted because the thread also identified a pupil. "
) * 12


def _event(position: int, prev_link: str, version: int, topic: str, state: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(state, sort_keys=True).encode()
    return {
        "position": position,
        "originator_id": ORIGINATOR,
        "originator_version": version,
        "topic": topic,
        "state_b64": base64.b64encode(raw).decode(),
        "prev_link": prev_link,
        "link": chain_link(prev_link, position, ORIGINATOR, version, topic, raw),
    }


def _events() -> list[dict[str, Any]]:
    first = _event(1, GENESIS, 1, "domain.incidents:Incident.Reported", {"title": TITLE, "category": "defamatory"})
    second = _event(2, first["link"], 2, "domain.incidents:Incident.Assessed", {"risk_level": "high"})
    return [first, second]


INCIDENT: dict[str, Any] = {
    "id": INCIDENT_ID,
    "title": TITLE,
    "category": "defamatory",
    "school_name": "St Brigid's Catholic Primary School",
    "status": "under_investigation",
    "reported_at": "2026-03-29T00:45:00+00:00",
    "risk_level": "high",
    "restricted": True,
    "reporter_name": "Siobhán Ó Briain",
}
CHRONOLOGY: list[dict[str, Any]] = [
    {
        "at": "2026-03-29T00:45:00+00:00",
        "what": "Incident reported",
        "who": "Siobhán Ó Briain (social media lead)",
        "reason": None,
        "details": {"category": "defamatory", "platform": "facebook"},
    },
    {
        "at": "2026-03-29T08:30:00+00:00",
        "what": "Initial assessment",
        "who": "Mark Ellis (headteacher)",
        "reason": LONG_TEXT,
        "details": {"risk_level": "high", "safeguarding_concern": True},
    },
    {
        "at": "2026-03-30T09:00:00Z",
        "what": "Moderation action: hide <comment> & report",
        "who": "Zoë Łukasiewicz 🙂 (moderator)",
        "reason": 'Told the audience: "removed as it breaches our community guidelines"',
        "details": {"action": "hide", "evidence": ["01-screenshot.png"]},
    },
]
FILES = [("screenshot.png", b"\x89PNG\r\n\x1a\nnot really a png"), ("../../parent email.eml", b"From: a parent\n")]


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def _build(key: Ed25519PrivateKey, **overrides: Any) -> bytes:
    events = _events()
    arguments: dict[str, Any] = {
        "incident": INCIDENT,
        "chronology": CHRONOLOGY,
        "events": events,
        "files": FILES,
        "chain_head": {"position": 7, "link": hashlib.sha256(b"head").hexdigest()},
        "private_key": key,
        "key_id": "trust-2026-01",
        "generated_at": GENERATED_AT,
    }
    return build_bundle(**(arguments | overrides))


@pytest.fixture(scope="module")
def zipped(key: Ed25519PrivateKey) -> bytes:
    return _build(key)


def _members(zip_bytes: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rezip(zip_bytes: bytes, change: Callable[[dict[str, bytes]], None]) -> bytes:
    members = _members(zip_bytes)
    change(members)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def _resign(members: dict[str, bytes], key: Ed25519PrivateKey) -> None:
    """Bring manifest.json up to date with the members and sign it with the right key: only deeper checks can tell."""
    manifest = json.loads(members["manifest.json"])
    manifest["entries"] = [
        {"path": name, "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
        for name, content in members.items()
        if name not in ("manifest.json", "manifest.sig")
    ]
    members["manifest.json"] = json.dumps(manifest, indent=2, sort_keys=True).encode()
    members["manifest.sig"] = base64.b64encode(key.sign(members["manifest.json"]))


# --- layout ----------------------------------------------------------------------------------------------------------


def test_the_zip_has_the_documented_layout_in_a_fixed_order(zipped: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        assert archive.namelist() == [
            "README.txt",
            "chronology.json",
            "chronology.pdf",
            "events.jsonl",
            "evidence/01-screenshot.png",
            "evidence/02-parent_email.eml",
            "manifest.json",
            "manifest.sig",
        ]
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_DEFLATED}
    members = _members(zipped)
    manifest = json.loads(members["manifest.json"])
    assert manifest["format"] == "socialgov-evidence-bundle/1"
    assert manifest["incident_id"] == INCIDENT_ID
    assert manifest["key_id"] == "trust-2026-01"
    assert manifest["generated_at"] == "2026-03-30T09:15:00+00:00"
    assert manifest["chain_head"]["position"] == 7
    assert [entry["path"] for entry in manifest["entries"]] == list(members)[:-2]
    for entry in manifest["entries"]:
        content = members[entry["path"]]
        assert entry == {"path": entry["path"], "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
    assert members["evidence/02-parent_email.eml"] == FILES[1][1]
    assert json.loads(members["chronology.json"]) == {"incident": INCIDENT, "entries": CHRONOLOGY}
    lines = members["events.jsonl"].decode().splitlines()
    assert [json.loads(line) for line in lines] == _events()
    assert b"bundle_verifier.py" in members["README.txt"] and b"trust-2026-01" in members["README.txt"]


def test_building_is_deterministic(key: Ed25519PrivateKey, zipped: bytes) -> None:
    assert _build(key) == zipped


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("photo.png", "photo.png"),
        ("../../etc/passwd", "passwd"),
        ("C:\\fakepath\\Screen Shot 1.png", "Screen_Shot_1.png"),
        ("..", "file"),
        ("a..b", "a.b"),
        ("Siobhán's note.txt", "Siobhan_s_note.txt"),
        ("x" * 300 + ".jpeg", "x" * 95 + ".jpeg"),
    ],
)
def test_evidence_file_names_are_sanitised(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_an_event_whose_link_does_not_follow_is_refused_at_build_time(key: Ed25519PrivateKey) -> None:
    events = _events()
    events[1]["link"] = GENESIS
    with pytest.raises(ValueError, match="position 2"):
        _build(key, events=events)
    with pytest.raises(ValueError, match="does not follow"):
        _build(key, events=list(reversed(_events())))


# --- the chain function ----------------------------------------------------------------------------------------------


def test_chain_link_has_a_fixed_definition_shared_with_the_verifier() -> None:
    state = b'{"title":"x"}'
    first = chain_link(GENESIS, 1, ORIGINATOR, 1, "Incident.Reported", state)
    assert first == "4c5bc2d286eca2f22b207a8427ed9f5d1a4cf947d4d0bb225519632da7ce7e9c"
    assert chain_link(first, 2, ORIGINATOR, 2, "Incident.Assessed", b"") == (
        "e7bd1bde3f40b1cac2ecbcf441510837b21b99b1b97be621a5b9eb74ac33e370"
    )
    header = f"socialgov-chain/v1\n1\n{ORIGINATOR}\n1\nIncident.Reported\n".encode()
    assert first == hashlib.sha256(bytes(32) + hashlib.sha256(header + state).digest()).hexdigest()
    from domain import chain

    assert inspect.getsource(bundle_verifier.chain_link) == inspect.getsource(chain.chain_link)
    assert bundle_verifier.GENESIS == GENESIS


# --- verification ----------------------------------------------------------------------------------------------------


def test_an_untouched_bundle_verifies(zipped: bytes, public_pem: bytes) -> None:
    assert verify_bundle(zipped, public_pem) == []


def test_the_verifier_runs_standalone_as_a_script(zipped: bytes, public_pem: bytes, tmp_path: Path) -> None:
    path, pem_path = tmp_path / "bundle.zip", tmp_path / "trust.pem"
    path.write_bytes(zipped)
    pem_path.write_bytes(public_pem)
    result = subprocess.run(
        [sys.executable, "infra/bundle_verifier.py", str(path), "--public-key", str(pem_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: ")
    assert INCIDENT_ID in result.stdout


def test_the_script_exits_1_naming_each_problem(zipped: bytes, public_pem: bytes, tmp_path: Path) -> None:
    def tamper(members: dict[str, bytes]) -> None:
        members["evidence/01-screenshot.png"] += b"!"

    path, pem_path = tmp_path / "bundle.zip", tmp_path / "trust.pem"
    path.write_bytes(_rezip(zipped, tamper))
    pem_path.write_bytes(public_pem)
    result = subprocess.run(
        [sys.executable, str(VERIFIER), str(path), "--public-key", str(pem_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "evidence/01-screenshot.png: sha256 mismatch" in result.stdout.splitlines()
    assert "OK:" not in result.stdout


def test_an_altered_evidence_file_is_named(zipped: bytes, public_pem: bytes) -> None:
    def tamper(members: dict[str, bytes]) -> None:
        members["evidence/02-parent_email.eml"] = b"From: someone else\n"

    problems = verify_bundle(_rezip(zipped, tamper), public_pem)
    assert "evidence/02-parent_email.eml: sha256 mismatch" in problems
    assert all(problem.startswith("evidence/02-parent_email.eml") for problem in problems), problems


def test_an_altered_manifest_breaks_the_signature(zipped: bytes, public_pem: bytes) -> None:
    def tamper(members: dict[str, bytes]) -> None:
        manifest = json.loads(members["manifest.json"])
        manifest["entries"][4]["sha256"] = hashlib.sha256(b"forged").hexdigest()
        members["manifest.json"] = json.dumps(manifest, indent=2, sort_keys=True).encode()

    problems = verify_bundle(_rezip(zipped, tamper), public_pem)
    assert "manifest signature invalid" in problems
    assert "evidence/01-screenshot.png: sha256 mismatch" in problems


def test_the_wrong_public_key_breaks_the_signature(zipped: bytes) -> None:
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    assert verify_bundle(zipped, other) == ["manifest signature invalid"]


def test_a_removed_file_is_named_missing(zipped: bytes, public_pem: bytes) -> None:
    problems = verify_bundle(_rezip(zipped, lambda members: members.pop("evidence/01-screenshot.png")), public_pem)
    assert problems == ["evidence/01-screenshot.png: missing"]


def test_an_added_file_is_unexpected(zipped: bytes, public_pem: bytes) -> None:
    def add(members: dict[str, bytes]) -> None:
        members["evidence/03-planted.png"] = b"planted"

    assert verify_bundle(_rezip(zipped, add), public_pem) == ["unexpected file: evidence/03-planted.png"]


def test_an_altered_event_breaks_the_chain_even_with_a_validly_signed_manifest(
    zipped: bytes, public_pem: bytes, key: Ed25519PrivateKey
) -> None:
    def tamper(members: dict[str, bytes]) -> None:
        lines = members["events.jsonl"].decode().splitlines()
        second = json.loads(lines[1])
        second["state_b64"] = base64.b64encode(b'{"risk_level": "low"}').decode()
        lines[1] = json.dumps(second, sort_keys=True)
        members["events.jsonl"] = ("\n".join(lines) + "\n").encode()
        _resign(members, key)

    problems = verify_bundle(_rezip(zipped, tamper), public_pem)
    assert problems == ["events.jsonl line 2 (position 2): chain link mismatch"]


def test_events_out_of_order_or_unchained_are_caught(zipped: bytes, public_pem: bytes, key: Ed25519PrivateKey) -> None:
    def swap(members: dict[str, bytes]) -> None:
        first, second = members["events.jsonl"].decode().splitlines()
        members["events.jsonl"] = f"{second}\n{first}\n".encode()
        _resign(members, key)

    assert verify_bundle(_rezip(zipped, swap), public_pem) == [
        "events.jsonl line 2 (position 1): position does not increase (previous line: 2)"
    ]

    def unchain(members: dict[str, bytes]) -> None:
        """A self-consistent second event that does not follow the first: re-linked onto another prev_link."""
        first, second = (json.loads(line) for line in members["events.jsonl"].decode().splitlines())
        state = base64.b64decode(second["state_b64"])
        second["prev_link"] = "11" * 32
        second["link"] = chain_link("11" * 32, 2, ORIGINATOR, 2, second["topic"], state)
        members["events.jsonl"] = (json.dumps(first) + "\n" + json.dumps(second) + "\n").encode()
        _resign(members, key)

    assert verify_bundle(_rezip(zipped, unchain), public_pem) == [
        "events.jsonl line 2 (position 2): prev_link is not the link of position 1"
    ]


def test_an_unparseable_chronology_is_caught(zipped: bytes, public_pem: bytes, key: Ed25519PrivateKey) -> None:
    def garble(members: dict[str, bytes]) -> None:
        members["chronology.json"] = b'{"incident": '
        _resign(members, key)

    problems = verify_bundle(_rezip(zipped, garble), public_pem)
    assert len(problems) == 1 and problems[0].startswith("chronology.json: not valid JSON")


def test_garbage_is_reported_not_raised(public_pem: bytes) -> None:
    assert verify_bundle(b"not a zip", public_pem)[0].startswith("not a readable zip archive")
    empty = io.BytesIO()
    zipfile.ZipFile(empty, "w").close()
    assert verify_bundle(empty.getvalue(), public_pem) == ["manifest.json: missing", "manifest.sig: missing"]


# --- the PDF ---------------------------------------------------------------------------------------------------------


def test_the_pdf_is_a_readable_timeline(zipped: bytes) -> None:
    reader = PdfReader(io.BytesIO(_members(zipped)["chronology.pdf"]))
    first_page = reader.pages[0].extract_text()
    assert f"Incident chronology: {TITLE}" in " ".join(first_page.split())
    assert CHRONOLOGY[0]["what"] in first_page
    assert "Siobhán Ó Briain" in first_page
    assert "Sun 29 Mar 2026 00:45:00 GMT (+00:00)" in first_page  # before the clocks went forward at 01:00
    everything = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "Mon 30 Mar 2026 10:00:00 BST (+01:00)" in everything
    assert "Moderation action: hide <comment> & report" in everything
    assert "Zoë Lukasiewicz ? (moderator)" in everything  # Ł has no Helvetica glyph, nor does the emoji
    assert "verify with socialgov bundle verify" in everything
    assert hashlib.sha256(b"head").hexdigest() in everything


def test_the_pdf_copes_with_very_long_entries(key: Ed25519PrivateKey, public_pem: bytes) -> None:
    """An explanation longer than a page continues over further rows and pages, none of it lost."""
    entry = dict(CHRONOLOGY[1], reason=LONG_TEXT * 4, details={"notes": "\n".join([LONG_TEXT] * 2)})
    zipped = _build(key, chronology=[*CHRONOLOGY, entry])
    assert verify_bundle(zipped, public_pem) == []
    reader = PdfReader(io.BytesIO(_members(zipped)["chronology.pdf"]))
    assert len(reader.pages) > 2
    everything = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert everything.count("designated safeguarding lead") == 12 * (1 + 4 + 2)
    assert everything.index("Moderation action") < everything.rindex("Initial assessment")


# --- standalone ------------------------------------------------------------------------------------------------------


def test_the_verifier_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(VERIFIER.read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import"
            imported.add(node.module or "")
    assert imported, "no imports found"
    for name in imported:
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or top == "cryptography", f"non-standard import: {name}"
