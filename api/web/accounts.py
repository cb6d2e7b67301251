"""School accounts: the list, an account's page (runners and their eligibility, the daily monitoring check, the
credentials masked until revealed with a reason), and the moderator's forms. Each form calls the same service as
the REST API (api/routes/accounts.py); reads come from services/account_queries.py.

    GET  /accounts                                  the school's accounts
    GET  /accounts/new                              approved applications no account was created from yet
    GET  /accounts/new/{application_id}             lead and web address  -> POST: accounts.create
    GET  /accounts/{id}                             the account
    POST /accounts/{id}/checks                      today's monitoring check (accounts.record_check)
    GET  /accounts/{id}/credentials/reveal          why? -> POST: accounts.reveal_credentials, answered with the
                                                    credentials themselves (never a redirect, never a GET: 0070)
    GET  /accounts/{id}/credentials/hidden          htmx: the masked credentials, swapped in after a while
    GET  /accounts/{id}/credentials                 store new credentials / rotate -> POST: store_credentials
    GET  /accounts/{id}/runners/new                 add a runner -> POST /accounts/{id}/runners
    GET  /accounts/{id}/runners/{person}/remove     remove a runner (confirm, reason) -> POST
    GET  /accounts/{id}/lead                        hand the lead to someone else -> POST
    GET  /accounts/{id}/suspend|reinstate|close     with a reason -> POST
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from api.container import Container
from api.routes.common import container, now_and_today
from api.web.forms import FormReader, command_errors
from api.web.render import page, redirect_with_notice
from api.web.session import SignedIn
from api.web.templating import plural
from domain.account import REVEAL_REASON_MAX
from domain.credentials import Credentials
from domain.values import Role
from services import account_queries
from services.authorisation import Action, can
from services.eventstore import Forbidden, NotFound

Row = dict[str, Any]

#: How long revealed credentials stay on the page before they are masked again (with JavaScript; decision 0070).
REVEAL_SECONDS = 120

PLATFORMS = {"facebook": "Facebook", "x": "X", "instagram": "Instagram", "linkedin": "LinkedIn",
             "youtube": "YouTube", "tiktok": "TikTok", "threads": "Threads", "bluesky": "Bluesky", "other": "Other"}

CREDENTIAL_LABELS = {"login": "Sign-in name", "password": "Password", "recovery_email": "Recovery email address",
                     "recovery_phone": "Recovery phone number", "mfa_recovery_codes": "Recovery codes",
                     "notes": "Notes", "reason": "Why you are changing them"}
#: The model's refusals of these fields, in the words the GOV.UK Design System uses for them.
CREDENTIAL_MESSAGES = {
    "recovery_email": "Enter the recovery email address in the correct format, like name@example.com",
    "recovery_phone": "Enter the recovery phone number in the correct format, like 01632 960 001 or +44 7700 900 982",
}


def platform_name(platform: str) -> str:
    return PLATFORMS.get(platform, platform.capitalize())


def account_name(account: Mapping[str, Any]) -> str:
    """'Facebook OakfieldPrimary'."""
    return f"{platform_name(account['platform'])} {account['handle']}"


def account_detail(request: Request[Any, Any, Any], who: SignedIn, account_id: UUID) -> Row:
    """The account as its pages show it (services/account_queries.py `account_detail`), with its names."""
    c = container(request)
    now, today = now_and_today(c)
    account = account_queries.account_detail(c.engine, who.principal, account_id, today, now)
    account["name"], account["platform_name"] = account_name(account), platform_name(account["platform"])
    return account


def allowed(who: SignedIn, account: Mapping[str, Any]) -> dict[str, bool]:
    """What the person may do on this account, as the services decide it (so the page offers only that)."""
    p, school = who.principal, account["school_id"]
    runner = any(r["id"] == p.id for r in account["runners"])
    open_ = account["status"] != "closed"
    manage = open_ and can(p, Action.ACCOUNT_MANAGE, school)
    return {
        "manage": manage,
        "suspend": manage and account["status"] == "active",
        "reinstate": manage and account["status"] == "suspended",
        "close": manage,
        "store": open_ and can(p, Action.CREDENTIALS_STORE, school),
        "reveal": open_ and account["credential_version"] > 0 and (Role.MODERATOR in p.roles_at(school) or runner),
        "check": open_ and (can(p, Action.MONITORING_CHECK, school) or runner),
    }


def _require(who: SignedIn, account: Mapping[str, Any], what: str, action: Action) -> None:
    if not allowed(who, account)[what]:
        raise Forbidden(action.refusal if account["status"] != "closed" else "you cannot change a closed account")


def _school(who: SignedIn) -> UUID:
    if who.school_id is None:
        raise NotFound("school")
    return who.school_id


# ----- the list -----
@get("/accounts", sync_to_thread=True, include_in_schema=False)
def accounts_list(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    who = web_principal
    c = container(request)
    now, today = now_and_today(c)
    school_id = _school(who)
    rows = account_queries.accounts_overview(c.engine, who.principal, school_id, today, now)
    for row in rows:
        row["name"] = account_name(row)
    awaiting = account_queries.applications_awaiting_account(c.engine, who.principal, school_id)
    return page(request, who, "accounts/list.html", accounts=rows, awaiting=len(awaiting),
                may_create=can(who.principal, Action.ACCOUNT_CREATE, school_id))


# ----- creating an account from an approved application -----
@get("/accounts/new", sync_to_thread=True, include_in_schema=False)
def choose_application(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    who = web_principal
    school_id = _school(who)
    if not can(who.principal, Action.ACCOUNT_CREATE, school_id):
        raise Forbidden(Action.ACCOUNT_CREATE.refusal)
    applications = account_queries.applications_awaiting_account(container(request).engine, who.principal, school_id)
    for a in applications:
        a["name"] = f"{platform_name(a['platform'])} {a['proposed_handle']}"
    return page(request, who, "accounts/new.html", applications=applications)


def _application(request: Request[Any, Any, Any], who: SignedIn, application_id: UUID) -> Row:
    c = container(request)
    application = account_queries.application_for_account(c.engine, who.principal, application_id,
                                                           now_and_today(c)[1])
    if not can(who.principal, Action.ACCOUNT_CREATE, application["school_id"]):
        raise Forbidden(Action.ACCOUNT_CREATE.refusal)
    application["name"] = f"{platform_name(application['platform'])} {application['proposed_handle']}"
    return application


CREATE_LABELS = {"lead_id": "Lead", "url": "The account's web address", "application_id": "Application"}


@get("/accounts/new/{application_id:uuid}", sync_to_thread=True, include_in_schema=False)
def create_form(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                application_id: FromPath[UUID]) -> Template:
    application = _application(request, web_principal, application_id)
    return page(request, web_principal, "accounts/create.html", application=application, form=None)


@post("/accounts/new/{application_id:uuid}", include_in_schema=False)
async def create_account(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                         application_id: FromPath[UUID]) -> Template | Redirect:
    data = await request.form()
    return await sync_to_thread(_create_account, request, web_principal, application_id, data)


def _create_account(request: Request[Any, Any, Any], who: SignedIn, application_id: UUID,
                    data: Mapping[str, Any]) -> Template | Redirect:
    application = _application(request, who, application_id)
    form = FormReader(data, labels=CREATE_LABELS)
    lead = form.choice("lead_id", [str(p["id"]) for p in application["people"]], "Select who will lead the account")
    url = form.text("url", max_length=500)
    if url and not url.startswith("https://"):
        form.errors["url"] = "Enter the account's web address, starting with https://"
    account_id: UUID | None = None
    if not form.errors:
        with command_errors(form):
            account_id = container(request).accounts.create(who.principal, application["school_id"], application_id,
                                                     UUID(lead), url or None)
    if form.errors or account_id is None:
        return page(request, who, "accounts/create.html", status=400, application=application, form=form)
    return redirect_with_notice(f"/accounts/{account_id}", f"Account created: {application['name']}")


# ----- the account -----
@get("/accounts/{account_id:uuid}", sync_to_thread=True, include_in_schema=False)
def account_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                 account_id: FromPath[UUID]) -> Template:
    account = account_detail(request, web_principal, account_id)
    return page(request, web_principal, "accounts/account.html", account=account,
                may=allowed(web_principal, account), form=None)


@post("/accounts/{account_id:uuid}/checks", include_in_schema=False)
async def record_check(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                       account_id: FromPath[UUID]) -> Template | Redirect:
    data = await request.form()
    return await sync_to_thread(_record_check, request, web_principal, account_id, data)


def _record_check(request: Request[Any, Any, Any], who: SignedIn, account_id: UUID,
                  data: Mapping[str, Any]) -> Template | Redirect:
    account = account_detail(request, who, account_id)
    _require(who, account, "check", Action.MONITORING_CHECK)
    form = FormReader(data, labels={"note": "Note"})
    note = form.text("note", max_length=2000)
    if not form.errors:
        with command_errors(form):
            container(request).accounts.record_check(who.principal, account_id, note or None)
    if form.errors:
        return page(request, who, "accounts/account.html", status=400, account=account, may=allowed(who, account),
                    form=form)
    return redirect_with_notice(f"/accounts/{account_id}", "Today's monitoring check is recorded")


# ----- credentials: reveal with a reason -----
REVEAL_LABELS = {"reason": "Why you need to see them"}


@get("/accounts/{account_id:uuid}/credentials/reveal", sync_to_thread=True, include_in_schema=False)
def reveal_form(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                account_id: FromPath[UUID]) -> Template:
    account = account_detail(request, web_principal, account_id)
    _require(web_principal, account, "reveal", Action.CREDENTIALS_REVEAL)
    return page(request, web_principal, "accounts/reveal.html", account=account, form=None,
                max_reason=REVEAL_REASON_MAX)


@post("/accounts/{account_id:uuid}/credentials/reveal", include_in_schema=False)
async def reveal(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                 account_id: FromPath[UUID]) -> Template:
    data = await request.form()
    return await sync_to_thread(_reveal, request, web_principal, account_id, data)


def _reveal(request: Request[Any, Any, Any], who: SignedIn, account_id: UUID, data: Mapping[str, Any]) -> Template:
    account = account_detail(request, who, account_id)
    _require(who, account, "reveal", Action.CREDENTIALS_REVEAL)
    form = FormReader(data, labels=REVEAL_LABELS)
    reason = form.text("reason", missing="Enter why you need to see the credentials", max_length=REVEAL_REASON_MAX)
    revealed: tuple[int, Credentials] | None = None
    if not form.errors:
        with command_errors(form):
            revealed = container(request).accounts.reveal_credentials(who.principal, account_id, reason)
    if form.errors or revealed is None:
        return page(request, who, "accounts/reveal.html", status=400, account=account, form=form,
                    max_reason=REVEAL_REASON_MAX)
    version, secret = revealed
    seconds = REVEAL_SECONDS
    shown_for = plural(seconds // 60, "minute") if seconds % 60 == 0 else plural(seconds, "second")
    response = page(request, who, "accounts/revealed.html", account=account, version=version, secret=secret,
                    seconds=seconds, shown_for=shown_for, reason=reason)
    response.headers["Pragma"] = "no-cache"
    return response


@get("/accounts/{account_id:uuid}/credentials/hidden", sync_to_thread=True, include_in_schema=False)
def credentials_hidden(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                       account_id: FromPath[UUID]) -> Template | Redirect:
    """What htmx swaps in for revealed credentials once their time is up; a plain visit goes to the account."""
    account = account_detail(request, web_principal, account_id)
    if not request.headers.get("hx-request"):
        return Redirect(f"/accounts/{account_id}", status_code=303)
    return Template("accounts/_hidden.html", headers={"Cache-Control": "no-store"},
                    context={"account": account, "may": allowed(web_principal, account)})


# ----- credentials: store a new version (first time, or a rotation) -----
@get("/accounts/{account_id:uuid}/credentials", sync_to_thread=True, include_in_schema=False)
def credentials_form(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                     account_id: FromPath[UUID], handover: FromQuery[UUID | None] = None) -> Template:
    account = account_detail(request, web_principal, account_id)
    _require(web_principal, account, "store", Action.CREDENTIALS_STORE)
    return page(request, web_principal, "accounts/credentials.html", account=account, form=None,
                handover=handover)


@post("/accounts/{account_id:uuid}/credentials", include_in_schema=False)
async def store_credentials(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                            account_id: FromPath[UUID]) -> Template | Redirect:
    data = await request.form()
    return await sync_to_thread(_store_credentials, request, web_principal, account_id, data)


def _secret_field(form: FormReader, data: Mapping[str, Any], name: str) -> str:
    """A field holding a secret: read as typed (not trimmed) and never put back into the page (decision 0070)."""
    form.anchors[name] = name  # so that the services' messages about it are shown beside it
    value = data.get(name)
    return value if isinstance(value, str) else ""


def _store_credentials(request: Request[Any, Any, Any], who: SignedIn, account_id: UUID,
                       data: Mapping[str, Any]) -> Template | Redirect:
    account = account_detail(request, who, account_id)
    _require(who, account, "store", Action.CREDENTIALS_STORE)
    handover = _uuid(data.get("handover"))
    form = FormReader(data, labels=CREDENTIAL_LABELS)
    login = form.text("login", missing="Enter the sign-in name", max_length=320)
    password = _secret_field(form, data, "password")
    if not password:
        form.errors["password"] = "Enter the password"  # noqa: S105 (a message, not a password)
    recovery_email = form.text("recovery_email", max_length=320)
    recovery_phone = form.text("recovery_phone", max_length=50)
    codes = [line.strip() for line in _secret_field(form, data, "mfa_recovery_codes").splitlines() if line.strip()]
    if len(codes) > 50 or any(len(code) > 100 for code in codes):
        form.errors["mfa_recovery_codes"] = "Enter at most 50 recovery codes, each 100 characters or fewer"
    notes = _secret_field(form, data, "notes").strip()
    reason = form.text("reason", max_length=1000)
    credentials = Credentials(login, password, recovery_email or None, recovery_phone or None, codes, notes or None)
    with command_errors(form):  # every field the model would refuse, named at once
        credentials.validated()
    form.errors = {name: CREDENTIAL_MESSAGES.get(name, form.errors[name])
                   for name in [*CREDENTIAL_LABELS, *form.errors] if name in form.errors}
    version: int | None = None
    if not form.errors:
        with command_errors(form):
            version = container(request).accounts.store_credentials(who.principal, account_id, credentials,
                                                                    reason or None)
    if form.errors or version is None:
        return page(request, who, "accounts/credentials.html", status=400, account=account, form=form,
                    handover=handover)
    back = f"/handovers/{handover}" if handover else f"/accounts/{account_id}"
    return redirect_with_notice(back, f"New credentials stored for {account['name']} (version {version})")


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


# ----- runners and the lead -----
def _candidates(request: Request[Any, Any, Any], who: SignedIn, account: Row) -> list[Row]:
    c = container(request)
    return account_queries.account_candidates(c.engine, who.principal, account["school_id"], now_and_today(c)[1])


@get("/accounts/{account_id:uuid}/runners/new", sync_to_thread=True, include_in_schema=False)
def add_runner_form(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                    account_id: FromPath[UUID]) -> Template:
    account = account_detail(request, web_principal, account_id)
    _require(web_principal, account, "manage", Action.ACCOUNT_MANAGE)
    return page(request, web_principal, "accounts/runner_add.html", account=account, form=None,
                **_runner_choices(request, web_principal, account))


def _runner_choices(request: Request[Any, Any, Any], who: SignedIn, account: Row) -> dict[str, list[Row]]:
    runners = {r["id"] for r in account["runners"]}
    others = [p for p in _candidates(request, who, account) if p["id"] not in runners]
    return {"eligible": [p for p in others if p["eligible"]], "ineligible": [p for p in others if not p["eligible"]]}


@post("/accounts/{account_id:uuid}/runners", include_in_schema=False)
async def add_runner(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                     account_id: FromPath[UUID]) -> Template | Redirect:
    data = await request.form()
    return await sync_to_thread(_add_runner, request, web_principal, account_id, data)


def _add_runner(request: Request[Any, Any, Any], who: SignedIn, account_id: UUID,
                data: Mapping[str, Any]) -> Template | Redirect:
    account = account_detail(request, who, account_id)
    _require(who, account, "manage", Action.ACCOUNT_MANAGE)
    choices = _runner_choices(request, who, account)
    names = {str(p["id"]): p["display_name"] for p in choices["eligible"]}
    form = FormReader(data, labels={"person_id": "Runner"})
    person = form.choice("person_id", names, "Select who will help run the account")
    if not form.errors:
        with command_errors(form):
            container(request).accounts.add_runner(who.principal, account_id, UUID(person))
    if form.errors:
        return page(request, who, "accounts/runner_add.html", status=400, account=account, form=form, **choices)
    return redirect_with_notice(f"/accounts/{account_id}", f"{names[person]} now helps run {account['name']}")


def _runner(account: Row, person_id: UUID) -> Row:
    found = next((p for p in account["people"] if p["id"] == person_id), None)
    if found is None:
        raise NotFound("runner")
    return found


@get("/accounts/{account_id:uuid}/runners/{person_id:uuid}/remove", sync_to_thread=True, include_in_schema=False)
def remove_runner_form(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                       account_id: FromPath[UUID], person_id: FromPath[UUID]) -> Template:
    account = account_detail(request, web_principal, account_id)
    _require(web_principal, account, "manage", Action.ACCOUNT_MANAGE)
    return page(request, web_principal, "accounts/runner_remove.html", account=account,
                runner=_runner(account, person_id), form=None)


@post("/accounts/{account_id:uuid}/runners/{person_id:uuid}/remove", include_in_schema=False)
async def remove_runner(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                        account_id: FromPath[UUID], person_id: FromPath[UUID]) -> Template | Redirect:
    data = await request.form()
    return await sync_to_thread(_remove_runner, request, web_principal, account_id, person_id, data)


def _remove_runner(request: Request[Any, Any, Any], who: SignedIn, account_id: UUID, person_id: UUID,
                   data: Mapping[str, Any]) -> Template | Redirect:
    account = account_detail(request, who, account_id)
    _require(who, account, "manage", Action.ACCOUNT_MANAGE)
    runner = _runner(account, person_id)
    form = FormReader(data, labels={"reason": "Reason"})
    reason = form.text("reason", max_length=1000)
    if not form.errors:
        with command_errors(form):
            container(request).accounts.remove_runner(who.principal, account_id, person_id, reason or None)
    if form.errors:
        return page(request, who, "accounts/runner_remove.html", status=400, account=account, runner=runner,
                    form=form)
    return redirect_with_notice(f"/accounts/{account_id}",
                                f"{runner['display_name']} no longer runs {account['name']}")


def _lead_choices(request: Request[Any, Any, Any], who: SignedIn, account: Row) -> dict[str, list[Row]]:
    runners = {r["id"] for r in account["runners"]}
    others = sorted((p for p in _candidates(request, who, account) if p["id"] != account["lead_id"]),
                    key=lambda p: p["id"] not in runners)  # the account's runners first: they know it already
    return {"eligible": [p for p in others if p["eligible"]], "ineligible": [p for p in others if not p["eligible"]]}


@get("/accounts/{account_id:uuid}/lead", sync_to_thread=True, include_in_schema=False)
def lead_form(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
              account_id: FromPath[UUID]) -> Template:
    account = account_detail(request, web_principal, account_id)
    _require(web_principal, account, "manage", Action.ACCOUNT_MANAGE)
    return page(request, web_principal, "accounts/lead.html", account=account, form=None,
                **_lead_choices(request, web_principal, account))


@post("/accounts/{account_id:uuid}/lead", include_in_schema=False)
async def transfer_lead(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                        account_id: FromPath[UUID]) -> Template | Redirect:
    data = await request.form()
    return await sync_to_thread(_transfer_lead, request, web_principal, account_id, data)


def _transfer_lead(request: Request[Any, Any, Any], who: SignedIn, account_id: UUID,
                   data: Mapping[str, Any]) -> Template | Redirect:
    account = account_detail(request, who, account_id)
    _require(who, account, "manage", Action.ACCOUNT_MANAGE)
    choices = _lead_choices(request, who, account)
    names = {str(p["id"]): p["display_name"] for p in choices["eligible"]}
    form = FormReader(data, labels={"person_id": "New lead", "reason": "Reason"})
    person = form.choice("person_id", names, "Select who will lead the account")
    reason = form.text("reason", max_length=1000)
    if not form.errors:
        with command_errors(form):
            container(request).accounts.transfer_lead(who.principal, account_id, UUID(person), reason or None)
    if form.errors:
        return page(request, who, "accounts/lead.html", status=400, account=account, form=form, **choices)
    return redirect_with_notice(f"/accounts/{account_id}", f"{names[person]} now leads {account['name']}")


# ----- suspend, reinstate, close: each with a reason -----
@dataclass(frozen=True)
class Change:
    """A change of the account's state asked for with a reason."""

    title: str
    intro: str
    button: str
    reason_required: bool
    notice: str
    warning: str | None = None


CHANGES: dict[str, Change] = {
    "suspend": Change("Suspend the account", "Nobody should post while the account is suspended. You can reinstate "
                      "it later.", "Suspend account", True, "Account suspended"),
    "reinstate": Change("Reinstate the account", "The account needs at least 2 runners with valid training to be "
                        "reinstated.", "Reinstate account", False, "Account reinstated"),
    "close": Change("Close the account", "Close the account on the platform too, then record it here.",
                    "Close account", True, "Account closed", "A closed account cannot be reopened."),
}


def _change(name: str) -> Change:
    found = CHANGES.get(name)
    if found is None:
        raise NotFound("page")
    return found


def _run_change(c: Container, who: SignedIn, name: str, account_id: UUID, reason: str) -> None:
    if name == "suspend":
        c.accounts.suspend(who.principal, account_id, reason)
    elif name == "reinstate":
        c.accounts.reinstate(who.principal, account_id, reason or None)
    else:
        c.accounts.close_account(who.principal, account_id, reason)


CHANGE_PATHS = [f"/accounts/{{account_id:uuid}}/{name}" for name in CHANGES]


def _change_named(request: Request[Any, Any, Any]) -> str:
    """Which change a request's path asks for (its last segment: suspend, reinstate or close)."""
    return request.url.path.rstrip("/").rsplit("/", 1)[-1]


@get(CHANGE_PATHS, include_in_schema=False)  # async: litestar's sync_to_thread fails on a list of paths
async def change_form(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                      account_id: FromPath[UUID]) -> Template:
    return await sync_to_thread(_change_form, request, web_principal, account_id, _change_named(request))


def _change_form(request: Request[Any, Any, Any], web_principal: SignedIn, account_id: UUID, change: str) -> Template:
    spec = _change(change)
    account = account_detail(request, web_principal, account_id)
    _require(web_principal, account, change, Action.ACCOUNT_MANAGE)
    return page(request, web_principal, "accounts/change.html", account=account, change=change, spec=spec,
                form=None)


@post(CHANGE_PATHS, include_in_schema=False)
async def change_state(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                       account_id: FromPath[UUID]) -> Template | Redirect:
    data = await request.form()
    return await sync_to_thread(_change_state, request, web_principal, account_id, _change_named(request), data)


def _change_state(request: Request[Any, Any, Any], who: SignedIn, account_id: UUID, change: str,
                  data: Mapping[str, Any]) -> Template | Redirect:
    spec = _change(change)
    account = account_detail(request, who, account_id)
    _require(who, account, change, Action.ACCOUNT_MANAGE)
    form = FormReader(data, labels={"reason": "Reason"})
    reason = form.text("reason", missing="Enter the reason" if spec.reason_required else None, max_length=1000)
    if not form.errors:
        with command_errors(form):
            _run_change(container(request), who, change, account_id, reason)
    if form.errors:
        return page(request, who, "accounts/change.html", status=400, account=account, change=change, spec=spec,
                    form=form)
    return redirect_with_notice(f"/accounts/{account_id}", f"{spec.notice}: {account['name']}")


ROUTES = [accounts_list, choose_application, create_form, create_account, account_page, record_check, reveal_form,
          reveal, credentials_hidden, credentials_form, store_credentials, add_runner_form, add_runner,
          remove_runner_form, remove_runner, lead_form, transfer_lead, change_form, change_state]
