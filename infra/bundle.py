"""Incident evidence bundles: a signed zip a school leader can hand to the police, the LADO or a panel.

The bundle holds the incident's chronology (JSON and a printable PDF), the incident's events with their hash-chain
links (``events.jsonl``), the evidence files, a README and a manifest of every file's SHA-256 and size. The manifest
is signed with the trust's Ed25519 key (``manifest.sig``), so a third party holding only the trust's public key can
check, offline and without access to SocialGov, that nothing was altered, added or removed since it was generated:
``python bundle_verifier.py BUNDLE.zip --public-key KEY.pem`` (see infra/bundle_verifier.py, which depends only on the
standard library and ``cryptography``).

Building is deterministic: the same inputs and ``generated_at`` give byte-identical bundles.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # type: ignore[import-untyped]

from domain.chain import GENESIS, chain_link  # the one definition; bundle_verifier.py carries a copy

__all__ = ["BUNDLE_FORMAT", "GENESIS", "build_bundle", "chain_link", "render_chronology_pdf", "safe_filename"]

BUNDLE_FORMAT = "socialgov-evidence-bundle/1"

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
LONDON = ZoneInfo("Europe/London")
EVENT_KEYS = ("position", "originator_id", "originator_version", "topic", "state_b64", "prev_link", "link")


def build_bundle(
    *,
    incident: Mapping[str, Any],
    chronology: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    files: Sequence[tuple[str, bytes]],
    chain_head: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    key_id: str,
    generated_at: datetime,
) -> bytes:
    """The zip bytes of the incident's evidence bundle, manifest signed with ``private_key``.

    Raises ValueError if ``generated_at`` is naive, an event lacks a field, events are not in increasing position,
    or an event's link does not follow from its prev_link and state (a bundle that could never verify).
    """
    if generated_at.tzinfo is None:
        raise ValueError("generated_at must be timezone-aware")
    generated_at = generated_at.astimezone(UTC)
    _check_events(events)

    members: list[tuple[str, bytes]] = [
        ("README.txt", _readme(incident, chain_head, key_id, generated_at).encode()),
        ("chronology.json", _json({"incident": dict(incident), "entries": [dict(entry) for entry in chronology]})),
        ("chronology.pdf", render_chronology_pdf(incident, chronology, chain_head, key_id, generated_at)),
        ("events.jsonl", b"".join(_json_line(dict(event)) for event in events)),
    ]
    width = max(2, len(str(len(files))))
    members += [
        (f"evidence/{index:0{width}d}-{safe_filename(name)}", content)
        for index, (name, content) in enumerate(files, start=1)
    ]

    manifest = _json(
        {
            "format": BUNDLE_FORMAT,
            "incident_id": incident["id"],
            "generated_at": generated_at.isoformat(),
            "key_id": key_id,
            "chain_head": dict(chain_head),
            "entries": [
                {"path": path, "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
                for path, content in members
            ],
        }
    )
    signature = base64.b64encode(private_key.sign(manifest))

    out = io.BytesIO()
    stamp = max(generated_at, datetime(1980, 1, 1, tzinfo=UTC)).timetuple()[:6]
    with zipfile.ZipFile(out, "w") as archive:
        for path, content in [*members, (MANIFEST, manifest), (SIGNATURE, signature)]:
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return out.getvalue()


def safe_filename(name: str) -> str:
    """A name safe inside the zip and on any file system: no directories, no '..', ASCII letters, digits, . _ -"""
    base = re.split(r"[/\\]", name)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base)
    base = re.sub(r"\.{2,}", ".", base).strip("._ ")
    if len(base) > 100:
        stem, dot, ext = base.rpartition(".")
        base = f"{stem[: 99 - len(ext)]}.{ext}" if dot and 0 < len(ext) <= 10 else base[:100]
    return base or "file"


def _check_events(events: Sequence[Mapping[str, Any]]) -> None:
    last: int | None = None
    for event in events:
        missing = [key for key in EVENT_KEYS if key not in event]
        if missing:
            raise ValueError(f"event {event.get('position')!r} lacks {', '.join(missing)}")
        position = event["position"]
        if last is not None and position <= last:
            raise ValueError(f"event position {position} does not follow {last}")
        last = position
        state = base64.b64decode(event["state_b64"], validate=True)
        link = chain_link(
            event["prev_link"], position, event["originator_id"], event["originator_version"], event["topic"], state
        )
        if link != event["link"]:
            raise ValueError(f"event position {position}: link does not follow from prev_link and state")


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _json_line(value: Any) -> bytes:
    return (json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _readme(incident: Mapping[str, Any], chain_head: Mapping[str, Any], key_id: str, generated_at: datetime) -> str:
    return f"""SocialGov incident evidence bundle
==================================

Incident:     {incident["id"]}
Reference:    {incident.get("reference", "")}
Title:        {incident.get("title", "")}
School:       {incident.get("school_name", "")}
Generated:    {generated_at.isoformat()}
Signing key:  {key_id}
Chain head:   position {chain_head.get("position")}, link {chain_head.get("link")}

Contents
--------
README.txt        this file
chronology.json   the incident and its chronology: who did what, when and why (machine-readable)
chronology.pdf    the same chronology as a printable timeline (times in UK local time)
events.jsonl      the incident's events from the audit log, one JSON object per line, with hash-chain links
evidence/         the evidence files, numbered in the order they were attached
manifest.json     the SHA-256 and size of every file above, signed
manifest.sig      base64 Ed25519 signature over the exact bytes of manifest.json

How to verify
-------------
You need the trust's Ed25519 public key (PEM), obtained from the trust directly, not from this bundle.

With the SocialGov verifier (Python 3.11+ and the "cryptography" package; no SocialGov access needed):

    python bundle_verifier.py THIS-BUNDLE.zip --public-key trust-public-key.pem
    (or: socialgov bundle verify THIS-BUNDLE.zip --public-key trust-public-key.pem)

It prints "OK: ..." if the bundle is intact, or each problem found, naming the file.

By hand (OpenSSL 3):

1. Check the signature:
       base64 -d manifest.sig > manifest.sig.bin
       openssl pkeyutl -verify -pubin -inkey trust-public-key.pem -rawin -in manifest.json -sigfile manifest.sig.bin
2. Check that every file listed in manifest.json has the stated sha256 (sha256sum FILE) and size, and that
   the zip holds no other files besides manifest.json and manifest.sig.
3. Check the hash chain: for each line of events.jsonl,
       header = "socialgov-chain/v1\\n{{position}}\\n{{originator_id}}\\n{{originator_version}}\\n{{topic}}\\n" (UTF-8)
       link   = SHA-256( bytes(prev_link) || SHA-256(header || base64-decoded state_b64) ), as hex
   must equal the line's "link"; the first event in the whole log has prev_link = 64 zeros. Positions increase,
   and where two lines have consecutive positions the second's prev_link is the first's link. The links tie these
   events to the trust's tamper-evident audit log, whose head at generation is the chain head above.
"""


# --- PDF -------------------------------------------------------------------------------------------------------------

_PAGE_MARGIN = 18 * mm
_ENTRY_COLUMNS = (36 * mm, 38 * mm, 38 * mm, 62 * mm)  # time, who, what, reason/details: 174 mm, the A4 frame
_SUMMARY_COLUMNS = (38 * mm, 136 * mm)
_MAX_ROW_HEIGHT = 70 * mm  # longer explanations continue in further rows, so page breaks fall between rows
_CELL_PADDING = 4
_RULE = 0.4
_PADDED = TableStyle(
    [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), _CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), _CELL_PADDING),
    ]
)


def render_chronology_pdf(
    incident: Mapping[str, Any],
    chronology: Sequence[Mapping[str, Any]],
    chain_head: Mapping[str, Any],
    key_id: str,
    generated_at: datetime,
) -> bytes:
    """A printable A4 timeline of the incident: summary, one row per chronology entry, and the chain head."""
    base = getSampleStyleSheet()
    title_style = ParagraphStyle("ChronologyTitle", parent=base["Title"], fontName="Helvetica-Bold", fontSize=16)
    body = ParagraphStyle("ChronologyBody", parent=base["Normal"], fontName="Helvetica", fontSize=9, leading=11.5)
    cell = ParagraphStyle("ChronologyCell", parent=body, fontSize=8.5, leading=10.5)
    head = ParagraphStyle("ChronologyHead", parent=cell, fontName="Helvetica-Bold")
    heading = ParagraphStyle("ChronologyHeading", parent=base["Heading2"], fontName="Helvetica-Bold", fontSize=12)

    def para(text: object, style: ParagraphStyle = cell) -> Paragraph:
        return Paragraph(_markup(text), style)

    title = f"Incident chronology: {incident.get('title', '')}"
    story: list[Any] = [para(title, title_style)]
    if incident.get("restricted"):
        story.append(para("RESTRICTED incident: handle in confidence.", head))
    story.append(Spacer(1, 3 * mm))

    summary = [
        ("Reference", incident.get("reference")),
        ("School", incident.get("school_name")),
        ("Category", _humanise(incident.get("category"))),
        ("Status", _humanise(incident.get("status"))),
        ("Risk level", _humanise(incident.get("risk_level")) if incident.get("risk_level") else "Not assessed"),
        ("Reported at", _local_time(incident.get("reported_at"))),
        ("Reported by", incident.get("reporter_name")),
        ("Restricted", "Yes" if incident.get("restricted") else "No"),
        ("Incident ID", incident.get("id")),
    ]
    summary_table = Table([[para(label, head), para(value)] for label, value in summary], colWidths=_SUMMARY_COLUMNS)
    summary_table.setStyle(_PADDED)
    summary_table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), _RULE, colors.grey)]))
    story += [summary_table, Spacer(1, 5 * mm), para("Chronology", heading)]

    header = [para(label, head) for label in ("Time (UK)", "Who", "What", "Reason / details")]
    rows: list[list[Paragraph]] = [header]
    entry_ends = [0]  # the last row of the header and of each entry: ruled off below
    continued: list[int] = []  # rows continuing the entry above: no gap between the pieces of its explanation
    for entry in chronology:
        explanation = para(_reason_and_details(entry.get("reason"), entry.get("details")))
        pieces = _pieces(explanation, _ENTRY_COLUMNS[3] - 2 * _CELL_PADDING, _MAX_ROW_HEIGHT)
        rows.append([para(_local_time(entry.get("at"))), para(entry.get("who")), para(entry.get("what")), pieces[0]])
        continued += range(len(rows), len(rows) + len(pieces) - 1)
        rows += [[para(""), para(""), para(""), piece] for piece in pieces[1:]]
        entry_ends.append(len(rows) - 1)
    if not chronology:
        rows.append([para(""), para(""), para("No entries."), para("")])
    entries_table = Table(rows, colWidths=_ENTRY_COLUMNS, repeatRows=1)
    entries_table.setStyle(_PADDED)
    entries_table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), _RULE, colors.grey),
                ("LINEAFTER", (0, 0), (-2, -1), _RULE, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")),
                *[("LINEBELOW", (0, end), (-1, end), _RULE, colors.grey) for end in entry_ends],
                *[("TOPPADDING", (0, row), (-1, row), 0) for row in continued],
                *[("BOTTOMPADDING", (0, row - 1), (-1, row - 1), 0) for row in continued],
            ]
        )
    )

    head_text = f"position {chain_head.get('position')}, link {chain_head.get('link')}"
    story += [
        entries_table,
        Spacer(1, 5 * mm),
        para(
            f"Generated {_local_time(generated_at.isoformat())}, signed with key {key_id}. "
            f"Audit chain head: {head_text}. "
            "This chronology is part of a signed evidence bundle: verify with socialgov bundle verify "
            "(or bundle_verifier.py) and the trust's public key.",
            body,
        ),
    ]

    pdf_date = generated_at.astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'")
    footer = (
        _latin(f"Incident {incident.get('id')}: chain head {head_text}"),
        "Part of a signed evidence bundle: verify with socialgov bundle verify",
    )

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.setDateFormatter(lambda *_: pdf_date)
        canvas.saveState()
        canvas.setFont("Helvetica", 6.5)
        canvas.setFillColor(colors.grey)
        canvas.drawString(_PAGE_MARGIN, 10 * mm, footer[0])
        canvas.drawString(_PAGE_MARGIN, 6.5 * mm, footer[1])
        canvas.drawRightString(A4[0] - _PAGE_MARGIN, 6.5 * mm, f"Page {doc.page}")
        canvas.restoreState()

    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=_PAGE_MARGIN,
        rightMargin=_PAGE_MARGIN,
        topMargin=_PAGE_MARGIN,
        bottomMargin=_PAGE_MARGIN,
        title=_latin(title),
        author=_latin(str(incident.get("school_name", ""))),
        subject=f"Evidence bundle for incident {incident.get('id')}",
        creator="SocialGov",
        invariant=True,
    )
    document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()


def _pieces(paragraph: Paragraph, width: float, max_height: float) -> list[Paragraph]:
    """``paragraph`` cut into pieces no taller than ``max_height`` (where it can be cut), in order."""
    pieces: list[Paragraph] = []
    rest = paragraph
    while rest.wrap(width, max_height)[1] > max_height:
        parts = rest.split(width, max_height)
        if len(parts) < 2:
            break
        pieces.append(parts[0])
        rest = parts[1]
    return [*pieces, rest]


_NO_DECOMPOSITION = str.maketrans("ŁłĐđĦħıŦŧ", "LlDdHhiTt")


def _latin(text: str) -> str:
    """``text`` in characters the built-in Helvetica can draw (cp1252): accents kept where possible, else '?'."""
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text.replace("\r\n", "\n")):
        if char in "\t\r":
            out.append(" ")
        elif char == "\n" or (unicodedata.category(char) != "Cc" and _encodable(char)):
            out.append(char)
        elif unicodedata.category(char) != "Cc":
            decomposed = unicodedata.normalize("NFKD", char.translate(_NO_DECOMPOSITION))
            plain = "".join(c for c in decomposed if not unicodedata.combining(c))
            out.append(plain if plain and _encodable(plain) else "?")
    return "".join(out)


def _encodable(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _markup(value: object) -> str:
    """Paragraph markup for plain text: escaped, Helvetica-safe, newlines kept."""
    text = "" if value is None else str(value)
    return escape(_latin(text)).replace("\n", "<br/>")


def _humanise(value: object) -> str:
    text = "" if value is None else str(value).replace("_", " ")
    return text[:1].upper() + text[1:]


def _local_time(iso: object) -> str:
    """An ISO timestamp in Europe/London local time with its offset, e.g. 'Sun 30 Mar 2025 02:15:00 BST (+01:00)'."""
    if not isinstance(iso, str) or not iso:
        return "" if iso is None else str(iso)
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(LONDON)
    offset = local.strftime("%z")
    return f"{local:%a %d %b %Y %H:%M:%S} {local.tzname()} ({offset[:3]}:{offset[3:]})"


def _reason_and_details(reason: object, details: object) -> str:
    lines: list[str] = []
    if reason:
        lines.append(f"Reason: {reason}")
    if isinstance(details, Mapping):
        for key in sorted(details, key=str):
            value = details[key]
            if value is None or value == "" or value == [] or value == {}:
                continue
            shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
            lines.append(f"{_humanise(key)}: {shown}")
    elif details:
        lines.append(str(details))
    return "\n".join(lines)
