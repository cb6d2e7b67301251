"""Value objects and enumerations shared by the aggregates."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID


class Nation(StrEnum):
    """UK nation of a school: decides its bank holidays."""

    ENGLAND = "england"
    WALES = "wales"
    SCOTLAND = "scotland"
    NORTHERN_IRELAND = "northern_ireland"


class Role(StrEnum):
    TRUST_ADMIN = "trust_admin"
    DPO = "dpo"
    SLT = "slt"
    MODERATOR = "moderator"
    STAFF = "staff"
    VOLUNTEER = "volunteer"


TRUST_ROLES = frozenset({Role.TRUST_ADMIN, Role.DPO})
SCHOOL_ROLES = frozenset({Role.SLT, Role.MODERATOR, Role.STAFF, Role.VOLUNTEER})
#: Roles whose holders may be named as runners of a school account (policy: "also applies to volunteers").
RUNNER_ROLES = frozenset({Role.SLT, Role.MODERATOR, Role.STAFF, Role.VOLUNTEER})


class Platform(StrEnum):
    FACEBOOK = "facebook"
    X = "x"
    INSTAGRAM = "instagram"
    LINKEDIN = "linkedin"
    YOUTUBE = "youtube"
    TIKTOK = "tiktok"
    THREADS = "threads"
    BLUESKY = "bluesky"
    OTHER = "other"


class Visibility(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


def clean_text(value: str) -> str:
    return " ".join(value.split())


def short_reference(entity_id: UUID) -> str:
    """A short reference people can say and type ("3F9A-07C2"): the last 8 hex digits of an id, which are random in
    a time-ordered id (the first ones are its time, shared by things made together)."""
    tail = entity_id.hex[-8:].upper()
    return f"{tail[:4]}-{tail[4:]}"
