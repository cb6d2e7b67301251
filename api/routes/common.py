"""Shared helpers for controllers."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy.exc import DBAPIError

from api.container import Container
from services.authorisation import Principal
from services.ports import today_in_london

#: A route's authenticated caller, provided by api/auth.verified_principal.
Caller = NamedDependency[Principal]

E = TypeVar("E", bound=Enum)


class OneOf:
    """`OneOf[Category]`: a body field that must be one of an enumeration's values. The body reads it as a string
    and the domain checks it with the body's other rules, naming every invalid field at once; the list is also in
    the field's schema, so that when a body's types are wrong (a field missing) this one is named with them
    (api/problems.every_field_error) and integrators see the allowed values in the OpenAPI document."""

    def __class_getitem__(cls, enum: type[Enum]) -> Any:
        return Annotated[str, msgspec.Meta(extra_json_schema={"enum": [str(v.value) for v in enum]})]


def container(request: Request[Any, Any, Any]) -> Container:
    c = request.app.state.container
    assert isinstance(c, Container)
    return c


def now_and_today(c: Container) -> tuple[datetime, date]:
    return c.clock.now(), today_in_london(c.clock)


T = TypeVar("T")


#: Seconds to wait before each further try of a command's answer whose connection the database dropped.
READ_AGAIN_AFTER_S = (0.1, 0.5)


def read_again_if_dropped(read: Callable[[], T]) -> T:
    """A read that answers a command, made after the command's events were written: if the database dropped the
    connection under it (a restart, a failover), it is read again on a fresh connection, twice more at most, so
    that a command that was written is not answered 503."""
    for wait in (*READ_AGAIN_AFTER_S, None):
        try:
            return read()
        except DBAPIError as e:
            if not e.connection_invalidated or wait is None:
                raise
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
