"""Account applications: staff apply for a school social media account with the business case the policy asks for,
one question a page; the school's leadership decides with each runner's training and acknowledgement in front of
them. Every page calls the same service and read queries as the REST API (api/routes/applications.py).

Staff
    GET  /applications/new                       before you start (or continue an application not yet sent)
    GET  /applications/new/{question}            one question: aim, audience, promotion, account, visibility, runners
    POST /applications/new/{question}            keeps the answer in the draft (infra/drafts.py, decision 0053)
    GET  /applications/new/check                 check your answers, with Change links
    POST /applications/new/check                 applications.submit, as POST /api/v1/schools/{id}/applications
    GET  /applications/{id}/sent                 confirmation, with the application's reference
    GET  /applications/mine                      my applications: status, decision and reason
    GET  /applications/{id}/withdraw             withdraw (optional reason)
    POST /applications/{id}/withdraw             applications.withdraw
Leadership (and whoever may read the school's applications)
    GET  /applications                           the queue, oldest first, by status; staff go to their own
    GET  /applications/{id}                      the business case, the runner checklist, the decision form
    POST /applications/{id}/decision             applications.approve / applications.reject
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from api.container import Container
from api.routes.common import container, now_and_today
from api.web.compliance import PLATFORMS
from api.web.forms import WHOLE_FORM, FormReader, command_errors
from api.web.render import page, redirect_with_notice
from api.web.session import SignedIn
from api.web.templating import LONDON, long_date
from domain.application import HANDLE_PATTERN, MIN_RUNNERS, BusinessCase
from domain.errors import InvalidInput
from domain.values import Visibility, short_reference
from infra.drafts import Drafts
from services import queries
from services.application_queries import application_runners, list_my_applications, runner_candidates
from services.authorisation import Action, can
from services.eventstore import Forbidden, NotFound

TEXT_LIMIT = 2000  # the business case's text answers (domain/application.py validate_case)

VISIBILITY = {Visibility.OPEN.value: "Open", Visibility.CLOSED.value: "Private or closed"}
VISIBILITY_HINTS = {Visibility.OPEN.value: "Anyone can see its posts and follow it",
                    Visibility.CLOSED.value: "Only people the school approves can see its posts, for example a "
                                             "closed group for the parents of one class"}
STATUS_FILTERS = {"submitted": "Awaiting decision", "approved": "Approved", "rejected": "Rejected",
                  "withdrawn": "Withdrawn", "all": "All applications"}


# ----- the business case, one question a page -----
@dataclass(frozen=True)
class Question:
    slug: str          # its address, /applications/new/<slug>, and its template applications/question_<kind>.html
    kind: str          # text, account, visibility or runners
    title: str         # the page's heading
    summary: str       # its key on "Check your answers"
    fields: tuple[str, ...]
    hint: str = ""
    missing: str = ""  # a text question's message when left empty


QUESTIONS = (
    Question("aim", "text", "What is the aim of the account?", "Aim", ("aim",),
             "For example, to celebrate pupils' work and share news from the history department",
             "Enter the aim of the account"),
    Question("audience", "text", "Who is the account for?", "Intended audience", ("audience",),
             "For example, parents and carers of current pupils, or the local community",
             "Enter who the account is for"),
    Question("promotion", "text", "How will you promote the account?", "How it will be promoted", ("promotion",),
             "For example, in the school newsletter, on the website or at parents' evening",
             "Enter how you will promote the account"),
    Question("account", "account", "Which platform, and what name?", "Platform and name",
             ("platform", "proposed_handle")),
    Question("visibility", "visibility", "Will the account be open or private?", "Open or private",
             ("visibility",)),
    Question("runners", "runners", "Who will run the account?", "Who will run it", ("runner_ids",)),
)
BY_SLUG = {q.slug: q for q in QUESTIONS}
QUESTION_OF_FIELD = {f: q for q in QUESTIONS for f in q.fields}
LABELS = {"aim": "The aim", "audience": "The intended audience", "promotion": "How it will be promoted",
          "platform": "The platform", "proposed_handle": "The proposed name", "visibility": "Open or private",
          "runner_ids": "Who will run it"}


def draft_name(who: SignedIn) -> str:
    return f"application:{who.school_id}"


def unanswered(answers: dict[str, Any]) -> Question | None:
    """The first question without an answer in the draft, or None when every one has one."""
    return next((q for q in QUESTIONS if any(not answers.get(f) for f in q.fields)), None)


def _school_to_apply_at(who: SignedIn) -> UUID:
    if who.school_id is None or not can(who.principal, Action.APPLICATION_SUBMIT, who.school_id):
        raise Forbidden(Action.APPLICATION_SUBMIT.refusal + ": that needs a role at the school")
    return who.school_id


def runner_status(row: dict[str, Any]) -> str:
    """Why a person can or cannot yet run an account: 'Trained until 7 August 2027 and acknowledged 2025.2',
    'Training expired 3 March 2025. Has not acknowledged the current policy 2025.2'."""
    policy = row["current_policy_label"]
    if row["eligible"]:
        return f"Trained until {long_date(row['training_valid_until'])} and acknowledged {policy}"
    facts = []
    if not row["holds_role"]:
        facts.append("No longer holds a role at this school")
    elif row["leaving_date"] is not None:
        facts.append(f"Leaving on {long_date(row['leaving_date'])}")
    if row["training_valid_until"]:
        facts.append(f"Trained until {long_date(row['training_valid_until'])}")
    elif row["training_expired_on"]:
        facts.append(f"Training expired {long_date(row['training_expired_on'])}")
    else:
        facts.append("No training recorded")
    if policy is None:
        facts.append("The trust has not published a policy to acknowledge")
    elif row["acknowledged_current"]:
        facts.append(f"Acknowledged {policy}")
    else:
        earlier = row["acknowledged_label"]
        facts.append(f"Has not acknowledged the current policy {policy}" +
                     (f" (acknowledged {earlier})" if earlier else ""))
    return ". ".join(facts)


def _with_status(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "status": runner_status(r)} for r in rows]


def _candidates(c: Container, who: SignedIn, school_id: UUID) -> list[dict[str, Any]]:
    return _with_status(runner_candidates(c.engine, who.principal, school_id, now_and_today(c)[1]))


def _checked(form: FormReader, name: str) -> list[str]:
    """The values of a group of checkboxes (every one ticked)."""
    getall: Callable[..., list[Any]] | None = getattr(form.data, "getall", None)
    values = getall(name, []) if getall else [form.data.get(name)]
    return [v for v in values if isinstance(v, str) and v]


def read_answer(question: Question, form: FormReader, candidates: list[dict[str, Any]]) -> dict[str, Any]:
    """The question's answer from its form, every problem recorded on `form`."""
    if question.kind == "text":
        return {question.slug: form.text(question.slug, missing=question.missing, max_length=TEXT_LIMIT)}
    if question.kind == "account":
        platform = form.choice("platform", PLATFORMS, missing="Select the platform the account will be on")
        handle = form.text("proposed_handle", missing="Enter the name you propose for the account", max_length=100)
        if handle and "proposed_handle" not in form.errors and not HANDLE_PATTERN.match(handle):
            form.errors["proposed_handle"] = ("The proposed name must use only letters, numbers, underscores (_), "
                                              "full stops (.) and hyphens (-), with no spaces")
        return {"platform": platform, "proposed_handle": handle}
    if question.kind == "visibility":
        return {"visibility": form.choice("visibility", VISIBILITY,
                                          missing="Select whether the account will be open or private")}
    known = {str(r["id"]) for r in candidates}
    chosen = [v for v in dict.fromkeys(_checked(form, "runner_ids")) if v in known]
    if len(chosen) < MIN_RUNNERS:
        form.errors["runner_ids"] = f"Select at least {MIN_RUNNERS} people to run the account"
    return {"runner_ids": chosen}


def _question_page(request: Request[Any, Any, Any], who: SignedIn, question: Question, answers: dict[str, Any],
                   form: FormReader | None = None, status: int = 200) -> Template:
    c = container(request)
    school_id = _school_to_apply_at(who)
    index = QUESTIONS.index(question)
    back = "/applications/new" if index == 0 else f"/applications/new/{QUESTIONS[index - 1].slug}"
    if unanswered(answers) is None:
        back = "/applications/new/check"
    values = form.values if form else {k: v for k, v in answers.items() if isinstance(v, str)}
    selected = (_checked(form, "runner_ids") if form else answers.get("runner_ids", []))
    return page(request, who, f"applications/question_{question.kind}.html", status=status, form=form,
                question=question, step=index + 1, steps=len(QUESTIONS), back=back, values=values,
                selected=selected, platforms=PLATFORMS, visibility=VISIBILITY, visibility_hints=VISIBILITY_HINTS,
                candidates=_candidates(c, who, school_id) if question.kind == "runners" else [],
                text_limit=TEXT_LIMIT)


@get("/applications/new", sync_to_thread=True, include_in_schema=False)
def start(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    who = web_principal
    c = container(request)
    _school_to_apply_at(who)
    answers = Drafts(c.engine).get(who.principal.id, draft_name(who), c.clock.now())
    next_question = unanswered(answers)
    resume = None
    if answers:
        resume = f"/applications/new/{next_question.slug}" if next_question else "/applications/new/check"
    return page(request, who, "applications/start.html", resume=resume)


@get("/applications/new/check", sync_to_thread=True, include_in_schema=False)
def check_answers(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template | Redirect:
    who = web_principal
    c = container(request)
    school_id = _school_to_apply_at(who)
    answers = Drafts(c.engine).get(who.principal.id, draft_name(who), c.clock.now())
    missing = unanswered(answers)
    if missing is not None:
        return Redirect(f"/applications/new/{missing.slug}", status_code=303)
    return _check_page(request, who, school_id, answers)


def _check_page(request: Request[Any, Any, Any], who: SignedIn, school_id: UUID, answers: dict[str, Any],
                errors: list[dict[str, str]] | None = None, status: int = 200) -> Template:
    c = container(request)
    people = {str(r["id"]): r for r in _candidates(c, who, school_id)}
    runners = [people.get(i) or {"id": i, "display_name": "Someone no longer at the school", "eligible": False,
                                 "status": "Choose someone else"} for i in answers["runner_ids"]]
    return page(request, who, "applications/check.html", status=status, answers=answers, runners=runners,
                errors=errors, platforms=PLATFORMS, visibility=VISIBILITY, labels=LABELS, by_slug=BY_SLUG)


@post("/applications/new/check", include_in_schema=False)
async def send(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template | Redirect:
    who = web_principal
    c = container(request)
    school_id = _school_to_apply_at(who)
    drafts = Drafts(c.engine)
    answers = await sync_to_thread(drafts.get, who.principal.id, draft_name(who), c.clock.now())
    missing = unanswered(answers)
    if missing is not None:
        return Redirect(f"/applications/new/{missing.slug}", status_code=303)
    case = BusinessCase(answers["aim"], answers["audience"], answers["promotion"],
                        tuple(UUID(i) for i in answers["runner_ids"]), answers["visibility"], answers["platform"],
                        answers["proposed_handle"])
    try:
        application_id = await sync_to_thread(c.applications.submit, who.principal, school_id, case)
    except InvalidInput as e:  # a runner left since they were chosen, say: each problem links to its question
        errors = await sync_to_thread(_submit_errors, c, who, school_id, answers, e)
        return await sync_to_thread(_check_page, request, who, school_id, answers, errors, 400)
    await sync_to_thread(drafts.discard, who.principal.id, draft_name(who))
    return Redirect(f"/applications/{application_id}/sent", status_code=303)


def _submit_errors(c: Container, who: SignedIn, school_id: UUID, answers: dict[str, Any],
                   refusal: InvalidInput) -> list[dict[str, str]]:
    """The service's refusal of a draft as error summary items, each linking to the question to change."""
    names = {str(r["id"]): r["display_name"] for r in _candidates(c, who, school_id)}
    items = []
    for error in refusal.errors:
        field, _, index = error.field.partition("[")
        question = QUESTION_OF_FIELD.get(field)
        if index:  # runner_ids[1]: name the person
            runner = answers["runner_ids"][int(index.rstrip("]"))]
            text = f"{names.get(runner, 'Someone you chose')} {error.message}"
        else:
            text = f"{LABELS.get(field, field)} {error.message}"
        items.append({"text": text, "href": f"/applications/new/{question.slug}" if question else "#main-content"})
    return items


@get("/applications/new/{question:str}", sync_to_thread=True, include_in_schema=False)
def question_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                  question: FromPath[str]) -> Template:
    who = web_principal
    c = container(request)
    if question not in BY_SLUG:
        raise NotFound("question")
    answers = Drafts(c.engine).get(who.principal.id, draft_name(who), c.clock.now())
    return _question_page(request, who, BY_SLUG[question], answers)


@post("/applications/new/{question:str}", include_in_schema=False)
async def answer(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                 question: FromPath[str]) -> Template | Redirect:
    who = web_principal
    c = container(request)
    if question not in BY_SLUG:
        raise NotFound("question")
    school_id = _school_to_apply_at(who)
    q = BY_SLUG[question]
    drafts = Drafts(c.engine)
    answers = await sync_to_thread(drafts.get, who.principal.id, draft_name(who), c.clock.now())
    form = FormReader(await request.form(), labels=LABELS)
    candidates = await sync_to_thread(_candidates, c, who, school_id) if q.kind == "runners" else []
    got = read_answer(q, form, candidates)
    if form.errors:
        return await sync_to_thread(_question_page, request, who, q, answers, form, 400)
    answers = {**answers, **got}
    await sync_to_thread(drafts.save, who.principal.id, draft_name(who), answers, c.clock.now())
    following = unanswered(answers)
    index = QUESTIONS.index(q)
    if following is None:
        return Redirect("/applications/new/check", status_code=303)
    nxt = QUESTIONS[index + 1] if index + 1 < len(QUESTIONS) else following
    return Redirect(f"/applications/new/{nxt.slug}", status_code=303)


# ----- after sending: confirmation, my applications, withdraw -----
@get("/applications/{application_id:uuid}/sent", sync_to_thread=True, include_in_schema=False)
def sent(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
         application_id: FromPath[UUID]) -> Template | Redirect:
    who = web_principal
    c = container(request)
    application = queries.get_application(c.engine, who.principal, application_id)
    if application["applicant_id"] != who.principal.id:
        return Redirect(f"/applications/{application_id}", status_code=303)
    runners = _with_status(application_runners(c.engine, who.principal, application_id, now_and_today(c)[1]))
    school = queries.get_school(c.engine, who.principal, application["school_id"])
    return page(request, who, "applications/sent.html", application=application, school=school,
                reference=short_reference(application_id), not_ready=[r for r in runners if not r["eligible"]],
                platforms=PLATFORMS)


@get("/applications/mine", sync_to_thread=True, include_in_schema=False)
def mine(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    who = web_principal
    c = container(request)
    applications = [{**a, "reference": short_reference(a["id"])} for a in list_my_applications(c.engine, who.principal)]
    return page(request, who, "applications/mine.html", applications=applications, platforms=PLATFORMS,
                several_schools=len({a["school_id"] for a in applications}) > 1,
                may_apply=who.school_id is not None and can(who.principal, Action.APPLICATION_SUBMIT, who.school_id))


def _withdraw_page(request: Request[Any, Any, Any], who: SignedIn, application_id: UUID,
                   form: FormReader | None = None, status: int = 200) -> Template:
    c = container(request)
    application = queries.get_application(c.engine, who.principal, application_id)
    if application["applicant_id"] != who.principal.id:
        raise Forbidden(Action.APPLICATION_WITHDRAW.refusal + ": only the applicant can")
    return page(request, who, "applications/withdraw.html", status=status, form=form, application=application,
                platforms=PLATFORMS, reference=short_reference(application_id))


@get("/applications/{application_id:uuid}/withdraw", sync_to_thread=True, include_in_schema=False)
def withdraw_form(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                  application_id: FromPath[UUID]) -> Template:
    return _withdraw_page(request, web_principal, application_id)


@post("/applications/{application_id:uuid}/withdraw", include_in_schema=False)
async def withdraw(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                   application_id: FromPath[UUID]) -> Template | Redirect:
    who = web_principal
    c = container(request)
    form = FormReader(await request.form(), labels={"reason": "Your reason"})
    reason = form.text("reason", max_length=1000)
    if not form.errors:
        with command_errors(form):
            await sync_to_thread(c.applications.withdraw, who.principal, application_id, reason or None)
    if form.errors:
        return await sync_to_thread(_withdraw_page, request, who, application_id, form, 400)
    return redirect_with_notice("/applications/mine", f"Application {short_reference(application_id)} withdrawn")


# ----- the leadership's queue and decision -----
@get("/applications", sync_to_thread=True, include_in_schema=False)
def queue(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
          status: FromQuery[str] = "submitted", after: FromQuery[str | None] = None) -> Template | Redirect:
    who = web_principal
    c = container(request)
    if who.school_id is None or not can(who.principal, Action.APPLICATION_READ, who.school_id):
        return Redirect("/applications/mine", status_code=303)
    status = status if status in STATUS_FILTERS else "submitted"
    try:
        found = queries.list_applications(c.engine, who.principal, who.school_id,
                                          None if status == "all" else status, limit=50, after=after)
    except InvalidInput:  # a cursor we did not give: start from the beginning
        found = queries.list_applications(c.engine, who.principal, who.school_id,
                                          None if status == "all" else status, limit=50)
    now = c.clock.now()
    rows = [{**a, "reference": short_reference(a["id"]), "waiting_hours": _hours(now, a["submitted_at"]),
             "sent_on": london_day(a["submitted_at"]), "decided_on": london_day(a["decided_at"])}
            for a in found.items]
    return page(request, who, "applications/queue.html", applications=rows, shown=status, filters=STATUS_FILTERS,
                next_cursor=found.next_cursor, platforms=PLATFORMS, after=after)


def london_day(at: datetime | None) -> date | None:
    return at.astimezone(LONDON).date() if at else None


def _hours(now: datetime, then: datetime) -> float:
    return max(0.0, (now - then).total_seconds() / 3600)


def _application_page(request: Request[Any, Any, Any], who: SignedIn, application_id: UUID,
                      form: FormReader | None = None, status: int = 200) -> Template:
    c = container(request)
    now, today = now_and_today(c)
    application = queries.get_application(c.engine, who.principal, application_id)
    runners = _with_status(application_runners(c.engine, who.principal, application_id, today))
    school_id = application["school_id"]
    may_decide = can(who.principal, Action.APPLICATION_DECIDE, school_id) and application["status"] == "submitted"
    own = application["applicant_id"] == who.principal.id
    return page(request, who, "applications/application.html", status=status, form=form, application=application,
                runners=runners, reference=short_reference(application_id), platforms=PLATFORMS, visibility=VISIBILITY,
                may_decide=may_decide and not own, own=own,
                may_read_people=can(who.principal, Action.STAFF_READ, school_id),
                waiting_hours=_hours(now, application["submitted_at"]))


@get("/applications/{application_id:uuid}", sync_to_thread=True, include_in_schema=False)
def application_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                     application_id: FromPath[UUID]) -> Template:
    return _application_page(request, web_principal, application_id)


DECISIONS = {"approve": "Approve", "reject": "Reject"}
ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def in_words(condition: str) -> str:
    """An unmet condition as the page says it: capitalised, dates as '3 March 2026' (the domain writes ISO)."""
    text = ISO_DATE.sub(lambda m: long_date(date(int(m[1]), int(m[2]), int(m[3]))), condition)
    return text[:1].upper() + text[1:]


@post("/applications/{application_id:uuid}/decision", include_in_schema=False)
async def decide(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                 application_id: FromPath[UUID]) -> Template | Redirect:
    who = web_principal
    c = container(request)
    form = FormReader(await request.form(), labels={"decision": "Decision", "reason": "The reason"})
    decision = form.choice("decision", DECISIONS, missing="Select whether to approve or reject the application")
    reason = form.text("reason", max_length=2000)
    if decision == "reject" and not reason:
        form.errors["reason"] = "Enter the reason for rejecting the application"
    if not form.errors:
        with command_errors(form):
            if decision == "approve":
                await sync_to_thread(c.applications.approve, who.principal, application_id, reason or None)
            else:
                await sync_to_thread(c.applications.reject, who.principal, application_id, reason)
    if form.errors:
        if form.errors.get(WHOLE_FORM) == "Approval refused":
            form.errors[WHOLE_FORM] = "This application cannot be approved yet"
            form.conditions = [in_words(x) for x in form.conditions]
        return await sync_to_thread(_application_page, request, who, application_id, form, 400)
    word = "approved" if decision == "approve" else "rejected"
    notice = f"Application {short_reference(application_id)} {word}"
    return redirect_with_notice(f"/applications/{application_id}", notice)


#: This module's pages, for api/web/__init__.py (static paths before the ones with a parameter).
ROUTES = [start, check_answers, send, question_page, answer, sent, mine, withdraw_form, withdraw, queue,
          application_page, decide]
