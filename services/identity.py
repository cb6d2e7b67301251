"""Resolving an authenticated subject into a Principal from the read model (roles, trust, schools)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import date
from uuid import UUID

from sqlalchemy import Connection, Engine, or_, select

from domain.events import ActorKind
from domain.values import Role
from services import readmodel as rm
from services.authorisation import Principal


def principal_for_person(engine: Engine, person_id: UUID, auth_method: str, request_id: str | None = None,
                         today: date | None = None) -> Principal | None:
    """The principal for an active person, or None if unknown or no longer active: from their leaving date
    (when `today` is given, as every request path does) a person has no access at all."""
    with engine.connect() as conn:
        return person_principal(conn, person_id, auth_method, request_id, today)


def person_principal(conn: Connection, person_id: UUID, auth_method: str, request_id: str | None = None,
                     today: date | None = None) -> Principal | None:
    """principal_for_person on a connection (inside a transaction that must see its own writes)."""
    person = conn.execute(select(rm.people).where(rm.people.c.id == person_id)).first()
    if person is None or person.status != "active":
        return None
    if today is not None and person.leaving_date is not None and today >= person.leaving_date:
        return None
    rows = conn.execute(select(rm.role_assignments.c.role, rm.role_assignments.c.school_id)
                        .where(rm.role_assignments.c.person_id == person_id)).all()
    trust_schools = frozenset(conn.execute(select(rm.schools.c.id).where(rm.schools.c.trust_id == person.trust_id))
                              .scalars())
    trust_roles: set[Role] = set()
    school_roles: dict[UUID, set[Role]] = defaultdict(set)
    for role, school_id in rows:
        if school_id is None:
            trust_roles.add(Role(role))
        else:
            school_roles[school_id].add(Role(role))
    return Principal(kind=ActorKind.PERSON, id=person.id, display_name=person.display_name, trust_id=person.trust_id,
                     trust_school_ids=trust_schools, trust_roles=frozenset(trust_roles),
                     school_roles={k: frozenset(v) for k, v in school_roles.items()}, auth_method=auth_method,
                     request_id=request_id)


def personas(engine: Engine, person_ids: Collection[UUID] | None = None) -> list[dict[str, object]]:
    """Everyone with a role (or only `person_ids`), by name, with their roles: the CLI's `socialgov personas` and
    the development persona picker."""
    query = (select(rm.people.c.id, rm.people.c.display_name, rm.people.c.email, rm.role_assignments.c.role,
                    rm.schools.c.name)
             .join(rm.role_assignments, rm.role_assignments.c.person_id == rm.people.c.id)
             .outerjoin(rm.schools, rm.schools.c.id == rm.role_assignments.c.school_id)
             .where(rm.people.c.status == "active")
             .order_by(rm.people.c.display_name, rm.people.c.id, rm.role_assignments.c.role))
    if person_ids is not None:
        query = query.where(rm.people.c.id.in_(list(person_ids)))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    out: dict[UUID, dict[str, object]] = {}
    for pid, name, email, role, school in rows:
        entry = out.setdefault(pid, {"id": pid, "display_name": name, "email": email, "roles": []})
        roles = entry["roles"]
        assert isinstance(roles, list)
        roles.append(f"{role} at {school}" if school else f"{role} (trust)")
    return list(out.values())


def find_personas(engine: Engine, text: str, today: date, limit: int = 25) -> list[dict[str, object]]:
    """At most `limit` people with a role whose name or email contains `text` (any case), who have not left by
    `today`: the development persona picker's search, which stays small at any number of schools."""
    text = " ".join(text.split())
    if not text:
        return []
    p = rm.people
    has_role = select(rm.role_assignments.c.person_id).where(rm.role_assignments.c.person_id == p.c.id).exists()
    with engine.connect() as conn:
        ids = conn.execute(select(p.c.id)
                           .where(p.c.status == "active", or_(p.c.leaving_date.is_(None), p.c.leaving_date > today),
                                  or_(p.c.display_name.icontains(text, autoescape=True),
                                      p.c.email.icontains(text, autoescape=True)), has_role)
                           .order_by(p.c.display_name, p.c.id).limit(limit)).scalars().all()
    return personas(engine, ids) if ids else []


def principal_for_client(engine: Engine, client_id: UUID, token_scopes: tuple[str, ...] | frozenset[str],
                         request_id: str | None = None) -> Principal | None:
    """An integration client's principal: its current registered scopes that the token also carries; None if the
    client is unknown or revoked (revocation takes effect on the next request)."""
    with engine.connect() as conn:
        return client_principal(conn, client_id, token_scopes, request_id)


def client_principal(conn: Connection, client_id: UUID, token_scopes: tuple[str, ...] | frozenset[str],
                     request_id: str | None = None) -> Principal | None:
    """principal_for_client on a connection."""
    c = rm.integration_clients
    row = conn.execute(select(c).where(c.c.id == client_id)).first()
    if row is None or row.revoked:
        return None
    schools = frozenset(conn.execute(select(rm.schools.c.id).where(rm.schools.c.trust_id == row.trust_id)).scalars())
    return Principal(kind=ActorKind.INTEGRATION, id=row.id, display_name=row.name, trust_id=row.trust_id,
                     trust_school_ids=schools, scopes=frozenset(row.scopes) & frozenset(token_scopes),
                     auth_method="client_credentials", request_id=request_id)


def _access(p: Principal) -> tuple[object, ...]:
    """What a principal may do rests on these (not on its name, request or how it signed in)."""
    return (p.kind, p.id, p.trust_id, p.trust_school_ids, p.trust_roles, dict(p.school_roles), p.scopes)


def still_have_access(conn: Connection, principals: Sequence[Principal]) -> bool:
    """Whether each of `principals` is still what the directory says of its caller, read on `conn` (inside the
    transaction that writes their commands, so that a command is decided on the caller's roles as they stand when
    it is written). One query when nothing a principal is made of has changed since they were resolved (the
    change mark)."""
    if not principals:
        return True
    mark = rm.position_on(conn, rm.PRINCIPALS_CHANGED)
    return all(p.directory_mark == mark or _unchanged(conn, p) for p in principals)


def _unchanged(conn: Connection, principal: Principal) -> bool:
    if principal.kind is ActorKind.INTEGRATION:
        fresh = client_principal(conn, principal.id, principal.scopes)
    else:
        fresh = person_principal(conn, principal.id, principal.auth_method)
    return fresh is not None and _access(fresh) == _access(principal)


class PrincipalCache:
    """Resolving a caller costs three or four queries; the answer can only change when an event that writes to a
    table a principal is made of is projected (a role, a departure, a new school, a revoked client) or the day
    turns. So it is reused while the position of the last such event (the change mark) is the same: one query per
    request instead of four, never stale."""

    def __init__(self, size: int = 4096) -> None:
        self._cache = rm.MarkedCache(rm.PRINCIPALS_CHANGED, size)

    def get(self, engine: Engine, key: tuple[object, ...], load: Callable[[], Principal | None],
            request_id: str | None) -> Principal | None:
        principal, mark = self._cache.get_with_mark(engine, key, load)
        return replace(principal, request_id=request_id, directory_mark=mark) if principal is not None else None


#: The process's principal cache (every container in the process shares it: entries are per database).
PRINCIPALS = PrincipalCache()
