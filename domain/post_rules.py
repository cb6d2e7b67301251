"""The rules posts are checked against: the trust's content rules (allowed sites, confidential markers,
controversial triggers, the schools' public contact details) and each account's posting rules (every post
signed; every post approved by named leaders, in order). One small aggregate per trust and per account."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.errors import FieldError, InvalidInput
from domain.events import Actor, Aggregate, DomainEvent
from domain.post_checks import ContentRules, PostingRules

RULES_NAMESPACE = uuid.UUID("5d1e7f2a-3c4b-4e8f-9a1d-2b3c4d5e6f70")


def content_rules_id(trust_id: UUID) -> UUID:
    return uuid.uuid5(RULES_NAMESPACE, f"trust|{trust_id}")


def posting_rules_id(account_id: UUID) -> UUID:
    return uuid.uuid5(RULES_NAMESPACE, f"account|{account_id}")


def _words(values: list[str], field: str, errors: list[FieldError]) -> tuple[str, ...]:
    out = []
    if len(values) > 500:
        errors.append(FieldError(field, "at most 500 entries"))
    for i, v in enumerate(values):
        w = " ".join(v.split()).lower()
        if not w or len(w) > 100:
            errors.append(FieldError(f"{field}[{i}]", "must be 1-100 characters"))
        elif w not in out:
            out.append(w)
    return tuple(out)


def clean_content_rules(allowed_domains: list[str], confidential_words: list[str], controversial_words: list[str],
                        public_contacts: list[str]) -> ContentRules:
    """The trust's rules, tidied (lower case, no duplicates), every invalid entry named at once. Public contact
    phone numbers are given in E.164 form (+441632960000)."""
    errors: list[FieldError] = []
    domains = _words(allowed_domains, "allowed_domains", errors)
    for i, d in enumerate(domains):
        if "/" in d or " " in d or "." not in d:
            errors.append(FieldError(f"allowed_domains[{i}]", "must be a domain such as oakfield.sch.uk"))
    confidential = _words(confidential_words, "confidential_words", errors)
    controversial = _words(controversial_words, "controversial_words", errors)
    contacts = _words(public_contacts, "public_contacts", errors)
    for i, c in enumerate(contacts):
        if "@" not in c and not (c.startswith("+") and c[1:].isdigit()):
            errors.append(FieldError(f"public_contacts[{i}]",
                                     "must be an e-mail address or a number like +441632960000"))
    if errors:
        raise InvalidInput(errors)
    return ContentRules(frozenset(domains), confidential, controversial, frozenset(contacts))


@dataclass(frozen=True, kw_only=True)
class ContentRulesSet(DomainEvent):
    allowed_domains: list[str]
    confidential_words: list[str]
    controversial_words: list[str]
    public_contacts: list[str]


@dataclass(frozen=True, kw_only=True)
class PostingRulesSet(DomainEvent):
    account_id: UUID
    signature_required: bool
    approver_ids: list[UUID]


class SafeguardRules(Aggregate):
    def __init__(self, id: UUID) -> None:
        super().__init__(id)
        self.content = ContentRules()
        self.posting = PostingRules()

    def set_content(self, trust_id: UUID, rules: ContentRules, actor: Actor, at: datetime) -> None:
        self._trigger(ContentRulesSet(**self.header(at, actor, trust_id, None),
                                      allowed_domains=sorted(rules.allowed_domains),
                                      confidential_words=list(rules.confidential_words),
                                      controversial_words=list(rules.controversial_words),
                                      public_contacts=sorted(rules.public_contacts)))

    def set_posting(self, trust_id: UUID, school_id: UUID, account_id: UUID, rules: PostingRules, actor: Actor,
                    at: datetime) -> None:
        if len(set(rules.approver_ids)) != len(rules.approver_ids):
            raise InvalidInput.one("approver_ids", "names an approver twice")
        self._trigger(PostingRulesSet(**self.header(at, actor, trust_id, school_id), account_id=account_id,
                                      signature_required=rules.signature_required,
                                      approver_ids=list(rules.approver_ids)))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, ContentRulesSet):
            self.content = ContentRules(frozenset(event.allowed_domains), tuple(event.confidential_words),
                                        tuple(event.controversial_words), frozenset(event.public_contacts))
        elif isinstance(event, PostingRulesSet):
            self.posting = PostingRules(event.signature_required, tuple(event.approver_ids))
