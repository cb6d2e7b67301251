"""The tamper-evident audit trail on the real stores: the hash chain detects altered, deleted and inserted
events; evidence bundles verify offline and name what was altered."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from typing import Any

from sqlalchemy import func, select, text

from infra.bundle_verifier import verify_bundle
from services import readmodel as rm
from services.audit import verify_chain
from tests.api.test_incidents import REPORT, report
from tests.conftest import ROOT, World


def _id_column(w: World) -> str:
    return "rowid" if w.c.settings.is_sqlite else "notification_id"


def _event_row(w: World, position: int) -> Any:
    with w.c.engine.connect() as conn:
        return conn.execute(text(f"SELECT originator_id, originator_version, topic, state FROM socialgov_events "
                                 f"WHERE {_id_column(w)} = :p"), {"p": position}).one()


def test_chain_verifies_then_names_an_altered_event(world: World) -> None:
    iid = report(world)
    world.post("head", f"/api/v1/incidents/{iid}/notes", {"text": "first note"})
    ok = world.get("admin", "/api/v1/audit/verify").json()
    assert ok["ok"] is True and ok["trust_events_checked"] >= 1 and ok["broken_position"] is None
    position = world.get("admin", "/api/v1/audit/events", entity_id=iid).json()["items"][0]["position"]
    original = _event_row(world, position)
    forged = bytes(original.state).replace(REPORT["title"].encode(), b"Nothing happened here")
    assert forged != bytes(original.state)
    with world.c.engine.begin() as conn:
        conn.execute(text(f"UPDATE socialgov_events SET state = :s WHERE {_id_column(world)} = :p"),
                     {"s": forged, "p": position})
    try:
        result = world.get("admin", "/api/v1/audit/verify").json()
        assert result["ok"] is False and result["broken_position"] == position
        assert "altered" in result["problem"]
        env = {**os.environ, "SOCIALGOV_DATABASE_URL": world.c.settings.database_url}
        cli = subprocess.run([sys.executable, "-m", "api.cli", "audit", "verify"], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        assert cli.returncode == 1 and f"BROKEN at position {position}" in cli.stdout
    finally:
        with world.c.engine.begin() as conn:
            conn.execute(text(f"UPDATE socialgov_events SET state = :s WHERE {_id_column(world)} = :p"),
                         {"s": bytes(original.state), "p": position})
    assert verify_chain(world.c.engine, world.c.recorder).ok


def test_verify_tells_a_trust_only_about_its_own_events(world: World, stranger: World) -> None:
    """A trust learns whether the chain verifies and its own events' figures; another trust's activity moves none of
    them, and a break in another trust's events is reported without its place."""
    report(world)
    mine = world.get("admin", "/api/v1/audit/verify").json()
    assert set(mine) == {"ok", "trust_events_checked", "last_position", "last_link", "broken_position", "problem"}
    events = rm.audit_events
    with world.c.engine.connect() as conn:
        count, last = conn.execute(select(func.count(), func.max(events.c.position))
                                   .where(events.c.trust_id == world.trust_id)).one()
    assert mine["ok"] is True and (mine["trust_events_checked"], mine["last_position"]) == (count, last)
    theirs = report(stranger)
    assert world.get("admin", "/api/v1/audit/verify").json() == mine
    position = stranger.get("admin", "/api/v1/audit/events", entity_id=theirs).json()["items"][0]["position"]
    original = _event_row(stranger, position)
    with world.c.engine.begin() as conn:
        conn.execute(text(f"UPDATE socialgov_events SET state = :s WHERE {_id_column(world)} = :p"),
                     {"s": bytes(original.state).replace(REPORT["title"].encode(), b"Nothing happened"), "p": position})
    try:
        seen = world.get("admin", "/api/v1/audit/verify").json()
        assert seen["ok"] is False and seen["broken_position"] is None and "another trust" in seen["problem"]
        assert str(position) not in seen["problem"]
        told = stranger.get("admin", "/api/v1/audit/verify").json()
        assert told["ok"] is False and told["broken_position"] == position and "altered" in told["problem"]
    finally:
        with world.c.engine.begin() as conn:
            conn.execute(text(f"UPDATE socialgov_events SET state = :s WHERE {_id_column(world)} = :p"),
                         {"s": bytes(original.state), "p": position})
    assert verify_chain(world.c.engine, world.c.recorder).ok


def test_a_deleted_event_is_detected(world: World) -> None:
    iid = report(world)
    world.post("head", f"/api/v1/incidents/{iid}/notes", {"text": "to be deleted"})
    position = world.get("admin", "/api/v1/audit/events", entity_id=iid).json()["items"][-1]["position"]
    row = _event_row(world, position)
    with world.c.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM socialgov_events WHERE {_id_column(world)} = :p"), {"p": position})
    try:
        result = verify_chain(world.c.engine, world.c.recorder)
        assert not result.ok and result.broken_position == position and "deleted" in (result.problem or "")
    finally:
        with world.c.engine.begin() as conn:
            conn.execute(text(f"INSERT INTO socialgov_events ({_id_column(world)}, originator_id, originator_version, "
                              "topic, state) VALUES (:p, :o, :v, :t, :s)"),
                         {"p": position, "o": row.originator_id, "v": row.originator_version, "t": row.topic,
                          "s": bytes(row.state)})
    assert verify_chain(world.c.engine, world.c.recorder).ok


def _bundle(world: World) -> tuple[str, bytes, bytes]:
    iid = report(world, title="Fake account impersonating the head")
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(200)
    world.client.post(f"/api/v1/incidents/{iid}/evidence", headers=world.h("alice"),
                      files={"file": ("screenshot.png", png, "image/png")})
    world.post("head", f"/api/v1/incidents/{iid}/assessment", {"risk_level": "high", "safeguarding_concern": False,
                                                               "immediate_actions": "Reported to the platform"})
    world.post("head", f"/api/v1/incidents/{iid}/police-referral", {"crime_reference": "CR/9/26", "officer": "PC B",
                                                                    "referred_on": "2026-03-10"})
    r = world.client.get(f"/api/v1/incidents/{iid}/evidence-bundle", headers=world.h("head"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    key = world.client.get("/api/v1/trust/public-key", headers=world.h("head"))
    assert key.status_code == 200 and key.content.startswith(b"-----BEGIN PUBLIC KEY-----")
    return iid, r.content, key.content


def _rezip(data: bytes, change: dict[str, bytes | None]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            if name in change:
                if change[name] is not None:
                    dst.writestr(name, change[name])  # type: ignore[arg-type]
            else:
                dst.writestr(name, src.read(name))
    return out.getvalue()


def test_evidence_bundle_verifies_offline_and_names_what_was_altered(world: World, tmp_path: Any) -> None:
    iid, data, pem = _bundle(world)
    assert verify_bundle(data, pem) == []
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    evidence = next(n for n in names if n.startswith("evidence/"))
    (tmp_path / "bundle.zip").write_bytes(data)
    (tmp_path / "trust.pem").write_bytes(pem)
    cli = subprocess.run([sys.executable, "-m", "api.cli", "bundle", "verify", str(tmp_path / "bundle.zip"),
                          "--public-key", str(tmp_path / "trust.pem")], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    altered = _rezip(data, {evidence: b"not the screenshot"})
    problems = verify_bundle(altered, pem)
    assert problems and any(evidence in p for p in problems)
    manifest = zipfile.ZipFile(io.BytesIO(data)).read("manifest.json")
    forged = manifest.replace(b'"sha256": "', b'"sha256": "0', 1)
    assert any("signature" in p for p in verify_bundle(_rezip(data, {"manifest.json": forged}), pem))
    # generating the bundle is itself audited
    trail = world.get("admin", "/api/v1/audit/events", entity_id=iid).json()["items"]
    assert trail[-1]["type"] == "EvidenceBundleGenerated" and trail[-1]["actor"]["role"] == "slt"
    # the chronology PDF shows the title and the first entry
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(zipfile.ZipFile(io.BytesIO(data)).read("chronology.pdf")))
    page = pdf.pages[0].extract_text()
    assert "Fake account impersonating the head" in page and "Incident reported" in page


def test_bundle_is_only_for_slt_and_trust_team(world: World, stranger: World) -> None:
    iid = report(world)
    assert world.client.get(f"/api/v1/incidents/{iid}/evidence-bundle", headers=world.h("alice")).status_code == 404
    assert world.client.get(f"/api/v1/incidents/{iid}/evidence-bundle", headers=world.h("admin")).status_code == 200
    assert stranger.client.get(f"/api/v1/incidents/{iid}/evidence-bundle",
                               headers=stranger.h("admin")).status_code == 404
