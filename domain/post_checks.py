"""Pre-publication checks of a school account's post against the trust's social media policy.

Pure functions: a draft, the school's pupil register, the trust's content rules and the account's posting rules
in; findings out. Each finding names the policy clause it enforces, its severity (it blocks publishing, it needs
a leader's approval, or it is advice the runner may override with a reason) and the span of text it is about
(docs/decisions/0081-check-severities.md, 0082-pupil-name-matching.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit
from uuid import UUID

import phonenumbers


class Severity(StrEnum):
    BLOCKS = "blocks"
    NEEDS_LEADER = "needs_leader"
    ADVICE = "advice"


class Clause(StrEnum):
    """The policy's words each check puts into practice (shared/policy/social-media-policy.txt)."""

    CONTACT_DETAILS = "Ensure that they never disclose personal contact details."
    NO_PUBLISH_LIST = ("Children ... must not be on any school list of children whose images must not be "
                       "published.")
    IMAGE_CONSENT = ("Permission to use any photos or video recordings should be sought in line with the "
                     "school's digital and video images policy.")
    SHARED_MATERIAL = "Ensure you have permission to 'share' other peoples' materials and acknowledge the author."
    LINKS = ("Consider the appropriateness of content for any audience of school accounts, and don't link to "
             "... inappropriate material.")
    CONFIDENTIAL = "Don't publish confidential or commercially sensitive material."
    TAGGING = "Consider turning off tagging people in images where possible."
    WHO_IS_POSTING = "Make it clear who is posting content. Users must declare who they are."
    CONTROVERSIAL = "Check with a senior leader before publishing content that may have controversial implications."


@dataclass(frozen=True)
class Finding:
    code: str
    clause: Clause
    severity: Severity
    message: str
    #: Where the finding is: "text", "media[0]", "links[1]", "shared[0]".
    field: str = "text"
    start: int | None = None
    end: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "clause": self.clause.value, "clause_name": self.clause.name.lower(),
                "severity": self.severity.value, "message": self.message, "field": self.field,
                "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Media:
    """A photo or video on the post: what it shows, whether people are in it, the pupils tagged in it."""

    description: str
    has_people: bool = False
    tagged_pupil_refs: tuple[str, ...] = ()


@dataclass(frozen=True)
class SharedMaterial:
    """Someone else's material shared by the post, with where it came from and the permission to share it."""

    description: str
    source: str | None = None
    permission: str | None = None


@dataclass(frozen=True)
class Draft:
    text: str
    media: tuple[Media, ...] = ()
    links: tuple[str, ...] = ()
    shared: tuple[SharedMaterial, ...] = ()
    #: The author thinks it may have controversial implications for the school.
    controversial: bool = False


@dataclass(frozen=True)
class ContentRules:
    """Set by the trust: sites posts may link to without advice, confidential markers, controversial triggers,
    and the schools' own public contact details (not personal, so not a finding)."""

    allowed_domains: frozenset[str] = frozenset()
    confidential_words: tuple[str, ...] = ("confidential", "not for publication", "commercially sensitive")
    controversial_words: tuple[str, ...] = ()
    public_contacts: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PostingRules:
    """Set per account: whether every post must be signed, and who must approve every post (in order)."""

    signature_required: bool = False
    approver_ids: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class RegisterPupil:
    pupil_ref: str
    name: str
    consent: bool
    no_publish: bool


_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*\.?")


def _norm(token: str) -> str:
    return "".join(ch for ch in token.lower() if ch.isalnum())


def _tokens(text: str) -> list[tuple[str, int, int, bool]]:
    """Words of the text: (normalised, start, end, followed by a full stop)."""
    out = []
    for m in _WORD.finditer(text):
        word = m.group()
        out.append((_norm(word), m.start(), m.end(), word.endswith(".")))
    return out


@dataclass
class PupilIndex:
    """The register arranged for matching names in text: by normalised first name."""

    by_ref: dict[str, RegisterPupil] = field(default_factory=dict)
    by_first: dict[str, list[tuple[tuple[str, ...], RegisterPupil]]] = field(default_factory=dict)

    @classmethod
    def of(cls, pupils: Iterable[RegisterPupil]) -> PupilIndex:
        index = cls()
        for pupil in pupils:
            index.by_ref[pupil.pupil_ref] = pupil
            parts = tuple(p for p in (_norm(w) for w in pupil.name.split()) if p)
            if len(parts) < 2:
                continue
            index.by_first.setdefault(parts[0], []).append((parts[1:], pupil))
        return index


@dataclass(frozen=True)
class NameMatch:
    pupil: RegisterPupil
    start: int
    end: int
    full: bool


def find_pupil_names(text: str, index: PupilIndex) -> list[NameMatch]:
    """Pupils of the register named in the text: in full ("Amy Jane Smith", "amy smith", "AMY SMITH!") or as
    "Firstname L." - case, punctuation, apostrophes and hyphens do not matter. Middle names may be left out."""
    tokens = _tokens(text)
    found: list[NameMatch] = []
    for i, (first, start, _, _) in enumerate(tokens):
        candidates = index.by_first.get(first)
        if not candidates or i + 1 >= len(tokens):
            continue
        following = tokens[i + 1:i + 4]
        for rest, pupil in candidates:
            surname = rest[-1]
            match: NameMatch | None = None
            if following[0][0] == surname:
                match = NameMatch(pupil, start, following[0][2], True)
            elif len(following) > 1 and following[0][0] + following[1][0] == surname:
                match = NameMatch(pupil, start, following[1][2], True)
            elif len(rest) > 1 and len(following) >= len(rest) and \
                    tuple(t[0] for t in following[:len(rest)]) == rest:
                match = NameMatch(pupil, start, following[len(rest) - 1][2], True)
            elif len(following[0][0]) == 1 and following[0][0] == surname[0] and \
                    (following[0][3] or text[following[0][1]].isupper()):
                match = NameMatch(pupil, start, following[0][2], False)
            if match is not None:
                found.append(match)
    return found


_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_POSTCODE = re.compile(r"\b(?:[A-Z]{1,2}[0-9][A-Z0-9]?)\s?[0-9][A-Z]{2}\b", re.IGNORECASE)
_SIGNATURE = re.compile(r"(?:(?:^|\n)\s*(?:[-–—~^]|from|posted by)\s*[A-Za-z][\w .'’\-]{1,60}|\s\^[A-Za-z]{1,4})\s*$",
                        re.IGNORECASE)
#: How near (characters) a postcode must be to a pupil's name to count as their home address.
POSTCODE_NEAR = 80


def _phone_findings(text: str, rules: ContentRules) -> list[Finding]:
    out = []
    for match in phonenumbers.PhoneNumberMatcher(text, "GB", leniency=phonenumbers.Leniency.POSSIBLE):
        # Possible rather than valid: Ofcom's drama ranges (07700 900xxx) and new ranges are still somebody's
        # number; fewer than ten digits written (a year, a price, a reference) is not a phone number.
        if sum(ch.isdigit() for ch in match.raw_string) < 10 and not phonenumbers.is_valid_number(match.number):
            continue
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if e164 in rules.public_contacts:
            continue
        out.append(Finding("phone_number", Clause.CONTACT_DETAILS, Severity.BLOCKS,
                           f"a phone number ({match.raw_string}) is personal contact details", "text",
                           match.start, match.end))
    return out


def _email_findings(text: str, rules: ContentRules) -> list[Finding]:
    return [Finding("email_address", Clause.CONTACT_DETAILS, Severity.BLOCKS,
                    f"an e-mail address ({m.group()}) is personal contact details", "text", m.start(), m.end())
            for m in _EMAIL.finditer(text) if m.group().lower() not in rules.public_contacts]


def _pupil_findings(text: str, names: Sequence[NameMatch]) -> list[Finding]:
    out = []
    for m in names:
        pupil, how = m.pupil, "named in full" if m.full else "named"
        if pupil.no_publish:
            out.append(Finding("pupil_no_publish", Clause.NO_PUBLISH_LIST, Severity.BLOCKS,
                               f"{text[m.start:m.end]} may be {pupil.name}, who is on the no-publish list", "text",
                               m.start, m.end))
        elif not pupil.consent:
            out.append(Finding("pupil_no_consent", Clause.IMAGE_CONSENT, Severity.BLOCKS,
                               f"{text[m.start:m.end]} may be {pupil.name}, who has no consent to appear on school "
                               "accounts", "text", m.start, m.end))
        elif m.full:
            out.append(Finding("pupil_full_name", Clause.IMAGE_CONSENT, Severity.ADVICE,
                               f"{pupil.name} is {how}: consider the first name only", "text", m.start, m.end))
    return out


def _postcode_findings(text: str, names: Sequence[NameMatch]) -> list[Finding]:
    if not names:
        return []
    out = []
    for m in _POSTCODE.finditer(text):
        if any(abs(m.start() - n.end) <= POSTCODE_NEAR or abs(n.start - m.end()) <= POSTCODE_NEAR for n in names):
            out.append(Finding("home_postcode", Clause.CONTACT_DETAILS, Severity.BLOCKS,
                               f"a postcode ({m.group()}) next to a pupil's name may be their home address",
                               "text", m.start(), m.end()))
    return out


def _media_findings(media: Sequence[Media], index: PupilIndex) -> list[Finding]:
    out = []
    for i, item in enumerate(media):
        where = f"media[{i}]"
        if item.has_people or item.tagged_pupil_refs:
            out.append(Finding("tagging_reminder", Clause.TAGGING, Severity.ADVICE,
                               "this media has people in it: consider turning off tagging", where))
        for ref in item.tagged_pupil_refs:
            pupil = index.by_ref.get(ref)
            if pupil is None:
                out.append(Finding("pupil_not_on_register", Clause.IMAGE_CONSENT, Severity.BLOCKS,
                                   f"pupil {ref} is not on the school's register", where))
            elif pupil.no_publish:
                out.append(Finding("pupil_no_publish", Clause.NO_PUBLISH_LIST, Severity.BLOCKS,
                                   f"{pupil.name} is tagged and is on the no-publish list", where))
            elif not pupil.consent:
                out.append(Finding("pupil_no_consent", Clause.IMAGE_CONSENT, Severity.BLOCKS,
                                   f"{pupil.name} is tagged and has no image consent for school accounts", where))
    return out


def _shared_findings(shared: Sequence[SharedMaterial]) -> list[Finding]:
    out = []
    for i, item in enumerate(shared):
        missing = [n for n, v in (("source", item.source), ("permission", item.permission)) if not (v or "").strip()]
        if missing:
            out.append(Finding("shared_unattributed", Clause.SHARED_MATERIAL, Severity.BLOCKS,
                               f"shared material \u201c{item.description}\u201d has no recorded "
                               + " or ".join(missing), f"shared[{i}]"))
    return out


def _host_allowed(url: str, allowed: frozenset[str]) -> bool:
    host = (urlsplit(url if "://" in url else "https://" + url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in allowed)


def _link_findings(text: str, links: Sequence[str], rules: ContentRules) -> list[Finding]:
    out = []
    for m in _URL.finditer(text):
        url = m.group().rstrip(".,;:!?)")
        if not _host_allowed(url, rules.allowed_domains):
            out.append(Finding("link_not_allowed", Clause.LINKS, Severity.ADVICE,
                               f"the link {url} is not on the trust's list of sites", "text", m.start(),
                               m.start() + len(url)))
    for i, url in enumerate(links):
        if not _host_allowed(url, rules.allowed_domains):
            out.append(Finding("link_not_allowed", Clause.LINKS, Severity.ADVICE,
                               f"the link {url} is not on the trust's list of sites", f"links[{i}]"))
    return out


def _word_findings(text: str, words: Sequence[str], code: str, clause: Clause, severity: Severity,
                   what: str) -> list[Finding]:
    out = []
    lowered = text.lower()
    for word in words:
        w = word.strip().lower()
        if not w:
            continue
        for m in re.finditer(r"(?<!\w)" + re.escape(w) + r"(?!\w)", lowered):
            out.append(Finding(code, clause, severity, f"\u201c{text[m.start():m.end()]}\u201d {what}", "text",
                               m.start(), m.end()))
    return out


def has_signature(text: str) -> bool:
    """The post says who is posting: a last line such as "- Mrs Patel", "^JP" or "Posted by the PE team"."""
    return bool(_SIGNATURE.search(text.rstrip()))


def check_post(draft: Draft, register: PupilIndex, rules: ContentRules, posting: PostingRules) -> list[Finding]:
    """Every finding of the draft, in the order of the policy's clauses."""
    text = draft.text
    names = find_pupil_names(text, register)
    findings = [
        *_phone_findings(text, rules),
        *_email_findings(text, rules),
        *_postcode_findings(text, names),
        *_pupil_findings(text, names),
        *_media_findings(draft.media, register),
        *_shared_findings(draft.shared),
        *_link_findings(text, draft.links, rules),
        *_word_findings(text, rules.confidential_words, "confidential_marker", Clause.CONFIDENTIAL,
                        Severity.BLOCKS, "marks confidential material"),
    ]
    if posting.signature_required and not has_signature(text):
        findings.append(Finding("no_signature", Clause.WHO_IS_POSTING, Severity.BLOCKS,
                                "this account asks every post to say who is posting: end with a line such as "
                                "\u201c- Mrs Patel\u201d"))
    findings.extend(_word_findings(text, rules.controversial_words, "controversial_trigger", Clause.CONTROVERSIAL,
                                   Severity.NEEDS_LEADER, "may have controversial implications"))
    if draft.controversial:
        findings.append(Finding("flagged_controversial", Clause.CONTROVERSIAL, Severity.NEEDS_LEADER,
                                "the author flagged this post as possibly controversial", "controversial"))
    return findings


def worst(findings: Iterable[Finding]) -> Severity | None:
    order = [Severity.BLOCKS, Severity.NEEDS_LEADER, Severity.ADVICE]
    present = {f.severity for f in findings}
    return next((s for s in order if s in present), None)
