"""Identifiers for new aggregates and records: time-ordered UUIDs (UUIDv7, RFC 9562; decision 0043).

A random UUID (version 4) lands anywhere in every index keyed on it, so each insert dirties its own leaf page: a
batch of commands writes, syncs and later checkpoints one page per command per such index. A UUIDv7 starts with
the time in milliseconds, so new ids sort after the ones before them and a batch's inserts share the rightmost
page of each index. The rest is random (74 bits): ids stay unguessable, and authorisation never rests on them.
An id shows when its record was created, which everyone who may see the record can see anyway.

Ids made before are still valid: they only sort apart from the new ones."""

from __future__ import annotations

from uuid import UUID

from uuid6 import uuid7


def new_id() -> UUID:
    """A new time-ordered identifier, as the standard library's UUID type (the event store's transcoder and the
    read model's columns know that type, not the uuid6 package's subclass)."""
    return UUID(int=uuid7().int)
