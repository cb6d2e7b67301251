"""Bearer tokens: a verified token is remembered, but only until it expires, and only that exact token."""

from __future__ import annotations

import uuid

import pytest

from infra.tokens import LEEWAY_S, VERIFIED_CACHE_SIZE, InvalidToken, TokenService


def test_a_remembered_token_still_expires() -> None:
    tokens = TokenService("k" * 32, ttl_minutes=1)
    person = uuid.uuid4()
    token = tokens.issue(person, now=1_000_000)
    assert tokens.verify(token, now=1_000_010).subject == person  # checked, and remembered
    assert tokens.verify(token, now=1_000_060 + LEEWAY_S).subject == person  # remembered: expiry still checked
    with pytest.raises(InvalidToken):
        tokens.verify(token, now=1_000_061 + LEEWAY_S)
    assert token not in tokens._verified  # forgotten once refused
    with pytest.raises(InvalidToken):  # and an expired token never checked before is refused as before
        tokens.verify(tokens.issue(person, now=1_000_000), now=1_000_061 + LEEWAY_S)


def test_only_the_exact_token_is_remembered() -> None:
    tokens = TokenService("k" * 32)
    token = tokens.issue(uuid.uuid4())
    tokens.verify(token)
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    with pytest.raises(InvalidToken):
        tokens.verify(forged)
    other_key = TokenService("x" * 32)
    with pytest.raises(InvalidToken):
        other_key.verify(token)  # each service remembers only what it checked with its own key


def test_the_memory_is_bounded() -> None:
    tokens = TokenService("k" * 32)
    for _ in range(VERIFIED_CACHE_SIZE + 5):
        tokens.verify(tokens.issue(uuid.uuid4()))
    assert len(tokens._verified) <= VERIFIED_CACHE_SIZE
