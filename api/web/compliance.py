"""A person's compliance with the policy, as a task list: read and acknowledge the current policy, record social
media training, declare personal social media accounts. Each task is a form that calls the same service as the
REST API (POST /api/v1/staff/{id}/acknowledgements, /training, /personal-accounts).

    GET  /my/compliance                          your own, as a task list
    GET  /people/{person_id}/compliance          someone else's, for those who may read their school's staff (404
                                                 for anyone else, as the API answers)
    GET  /my/compliance/policy                   the current policy version; confirm you have read and understood it
    POST /my/compliance/policy                   directory.acknowledge_policy
    GET  /my/compliance/training                 the form
    POST /my/compliance/training                 directory.record_training
    GET  /my/compliance/personal-accounts        declare a personal account (and those declared so far)
    POST /my/compliance/personal-accounts        directory.declare_personal_account (if the account names the
                                                 school: first the disclaimer question, on its own page)
    GET  /my/compliance/personal-accounts/disclaimer   "Does the profile say that views are your own?", with the
    POST /my/compliance/personal-accounts/disclaimer   policy's guidance; then directory.declare_personal_account
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from api.container import Container
from api.routes.common import container, now_and_today
from api.web.forms import WHOLE_FORM, FormReader, command_errors
from api.web.render import page, redirect_with_notice
from api.web.session import SignedIn
from api.web.templating import LONDON, long_date
from domain.values import Platform
from infra.drafts import Drafts
from services import queries

TRAINING_LABELS = {"course": "Course name", "completed_on": "The date you completed the course"}
DECLARATION_LABELS = {"platform": "Platform", "handle": "The account's name or handle",
                      "names_school": "Whether the account names the school",
                      "disclaimer_present": "Whether the profile says your views are your own"}

#: The platforms, as people name them (domain/values.py Platform), in the order the forms offer them.
PLATFORMS: dict[str, str] = {
    Platform.FACEBOOK: "Facebook", Platform.INSTAGRAM: "Instagram", Platform.X: "X (formerly Twitter)",
    Platform.TIKTOK: "TikTok", Platform.YOUTUBE: "YouTube", Platform.LINKEDIN: "LinkedIn",
    Platform.THREADS: "Threads", Platform.BLUESKY: "Bluesky", Platform.OTHER: "Another platform",
}
YES_NO = {"yes": "Yes", "no": "No"}

COMPLETED: dict[str, Any] = {"text": "Completed"}
INCOMPLETE: dict[str, Any] = {"tag": {"text": "Incomplete", "classes": "govuk-tag--blue"}}
CANNOT_START: dict[str, Any] = {"text": "Cannot start yet", "classes": "govuk-task-list__status--cannot-start-yet"}


def current_policy(c: Any, who: SignedIn) -> dict[str, Any] | None:
    """The trust's current policy version (id, label, summary, published_at), or None if none is published."""
    return next((v for v in queries.list_policy_versions(c.engine, who.principal) if v["current"]), None)


def _acknowledged_at(person: dict[str, Any], policy: dict[str, Any] | None) -> Any:
    return next((a["acknowledged_at"] for a in person["acknowledgements"]
                 if policy and a["policy_version_id"] == policy["id"]), None)


def compliance_tasks(person: dict[str, Any], policy: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The GOV.UK task list of what the policy asks of a member of staff, with each task's status."""
    acknowledged = person["acknowledged_current_policy"]
    if policy is None:
        policy_task = {"title": {"text": "Read and acknowledge the current policy"}, "status": CANNOT_START,
                       "hint": {"text": "Your trust has not published its social media policy yet"}}
    else:
        when = _acknowledged_at(person, policy)
        acknowledged_on = f", acknowledged {long_date(when.astimezone(LONDON).date())}" if when else ""
        policy_task = {"title": {"text": "Read and acknowledge the current policy"}, "href": "/my/compliance/policy",
                       "hint": {"text": f"Version {policy['label']}{acknowledged_on}"},
                       "status": COMPLETED if acknowledged else INCOMPLETE}
    valid = [t for t in person["training"] if t["valid"]]
    latest = max(person["training"], key=lambda t: t["expires_on"], default=None)
    training_hint = (f"Valid until {long_date(max(t['expires_on'] for t in valid))}" if valid else
                     f"Your training expired on {long_date(latest['expires_on'])}" if latest else
                     "No training recorded")
    training_task = {"title": {"text": "Record your training"}, "href": "/my/compliance/training",
                     "hint": {"text": training_hint}, "status": COMPLETED if valid else INCOMPLETE}
    declared = person["personal_accounts"]
    declaration_task: dict[str, Any] = {"title": {"text": "Declare your personal social media accounts"}}
    if declared:
        latest = {(d["platform"], d["handle"].lower().lstrip("@")): d for d in declared}  # declared again: the last
        n = len(latest)
        short = sum(1 for d in latest.values() if d["names_school"] and not d["disclaimer_present"])
        declaration_task |= {"href": "/my/compliance/personal-accounts", "status": COMPLETED,
                             "hint": {"text": f"{n} account{'s' if n != 1 else ''} declared" +
                                      (f"; {short} {'needs' if short == 1 else 'need'} a disclaimer" if short
                                       else "")}}
    elif not acknowledged:
        declaration_task |= {"status": CANNOT_START,
                             "hint": {"text": "Read and acknowledge the current policy first: it says what a "
                                              "personal account that names the school must show"}}
    else:
        declaration_task |= {"href": "/my/compliance/personal-accounts", "status": INCOMPLETE,
                             "hint": {"text": "Any personal account you use; if you have none, there is nothing "
                                              "to declare"}}
    return [policy_task, training_task, declaration_task]


def _record(person: dict[str, Any]) -> list[dict[str, Any]]:
    """The person's training, acknowledgements and declarations as a chronology, newest first."""
    items = [{"title": f"Policy {a['label']} acknowledged", "at": a["acknowledged_at"]}
             for a in person["acknowledgements"]]
    items += [{"title": "Training recorded", "at": t["completed_on"],
               "description": f"{t['course']}, valid until {long_date(t['expires_on'])}"}
              for t in person["training"]]
    items += [{"title": "Personal account declared", "at": d["declared_at"],
               "description": f"{PLATFORMS.get(d['platform'], d['platform'])} {d['handle']}"}
              for d in person["personal_accounts"]]
    return sorted(items, key=lambda i: (i["at"].isoformat()[:10], i["title"]), reverse=True)


def _compliance_page(request: Request[Any, Any, Any], who: SignedIn, person_id: UUID) -> Template:
    c = container(request)
    person = queries.get_person(c.engine, who.principal, person_id, now_and_today(c)[1])
    latest = max(person["training"], key=lambda t: t["expires_on"], default=None)
    policy = current_policy(c, who)
    return page(request, who, "compliance/compliance.html", person=person, latest=latest, policy=policy,
                tasks=compliance_tasks(person, policy), record=_record(person), platforms=PLATFORMS,
                mine=person_id == who.principal.id)


@get("/my/compliance", sync_to_thread=True, include_in_schema=False)
def my_compliance(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    return _compliance_page(request, web_principal, web_principal.principal.id)


@get("/people/{person_id:uuid}/compliance", sync_to_thread=True, include_in_schema=False)
def person_compliance(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                      person_id: FromPath[UUID]) -> Template:
    return _compliance_page(request, web_principal, person_id)


# ----- Read and acknowledge the current policy -----
def _policy_page(request: Request[Any, Any, Any], who: SignedIn, form: FormReader | None = None,
                 status: int = 200) -> Template:
    c = container(request)
    person = queries.get_person(c.engine, who.principal, who.principal.id, now_and_today(c)[1])
    policy = current_policy(c, who)
    return page(request, who, "compliance/policy.html", status=status, form=form, policy=policy,
                acknowledged_at=_acknowledged_at(person, policy))


@get("/my/compliance/policy", sync_to_thread=True, include_in_schema=False)
def policy_form(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    return _policy_page(request, web_principal)


@post("/my/compliance/policy", include_in_schema=False)
async def acknowledge_policy(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]
                             ) -> Template | Redirect:
    who = web_principal
    c = container(request)
    form = FormReader(await request.form(), labels={"confirm": "Confirmation"})
    form.choice("confirm", ["yes"], missing="Confirm that you have read and understood the policy")
    version = form.text("policy_version_id")
    policy = await sync_to_thread(current_policy, c, who)
    if policy is None or version != str(policy["id"]):  # a newer version came out while they were reading
        form.errors[WHOLE_FORM] = ("A new version of the policy has been published since you opened this page. "
                                   "Read it, then confirm again.")
    if not form.errors and policy is not None:
        with command_errors(form):
            await sync_to_thread(c.directory.acknowledge_policy, who.principal, who.principal.id, policy["id"])
    if form.errors:
        return await sync_to_thread(_policy_page, request, who, form, 400)
    assert policy is not None
    return redirect_with_notice("/my/compliance", f"You have acknowledged the social media policy, version "
                                                  f"{policy['label']}")


# ----- Record your training -----
@get("/my/compliance/training", include_in_schema=False)
async def training_form(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    return page(request, web_principal, "compliance/training.html", form=None)


@post("/my/compliance/training", include_in_schema=False)
async def record_training(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]
                          ) -> Template | Redirect:
    who = web_principal
    c = container(request)
    form = FormReader(await request.form(), labels=TRAINING_LABELS)
    course = form.text("course", missing="Enter the name of the course", max_length=200)
    completed_on = form.date("completed_on", missing="Enter the date you completed the course", past=True,
                             today=now_and_today(c)[1])
    if not form.errors and completed_on is not None:
        with command_errors(form):
            await sync_to_thread(c.directory.record_training, who.principal, who.principal.id, course,
                                 completed_on, None)
    if form.errors:
        return page(request, who, "compliance/training.html", status=400, form=form)
    return redirect_with_notice("/my/compliance", f"Training recorded: {course}")


# ----- Declare your personal social media accounts -----
#: The first page's answers wait here while the second asks about the disclaimer (infra/drafts.py).
DECLARATION_DRAFT = "personal-account"


def _declaration_page(request: Request[Any, Any, Any], who: SignedIn, form: FormReader | None = None,
                      status: int = 200) -> Template:
    c = container(request)
    person = queries.get_person(c.engine, who.principal, who.principal.id, now_and_today(c)[1])
    values = form.values if form else Drafts(c.engine).get(who.principal.id, DECLARATION_DRAFT, c.clock.now())
    return page(request, who, "compliance/personal_accounts.html", status=status, form=form, values=values,
                platforms=PLATFORMS, declared=person["personal_accounts"])


@get("/my/compliance/personal-accounts", sync_to_thread=True, include_in_schema=False)
def declaration_form(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    return _declaration_page(request, web_principal)


async def _declare(c: Container, who: SignedIn, form: FormReader, platform: str, handle: str, names_school: bool,
                   disclaimer: bool) -> Redirect | None:
    """Declares the account (as POST /api/v1/staff/{id}/personal-accounts); a redirect with the notice, or None with
    the refusal on `form`."""
    with command_errors(form):
        await sync_to_thread(c.directory.declare_personal_account, who.principal, who.principal.id, platform,
                             handle, names_school, disclaimer)
    if form.errors:
        return None
    await sync_to_thread(Drafts(c.engine).discard, who.principal.id, DECLARATION_DRAFT)
    notice = f"Personal account declared: {PLATFORMS.get(platform, platform)} {handle}"
    if names_school and not disclaimer:
        notice += ". Add a disclaimer to its profile saying that your views are your own, as the policy asks"
    return redirect_with_notice("/my/compliance", notice)


@post("/my/compliance/personal-accounts", include_in_schema=False)
async def declare_personal_account(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]
                                   ) -> Template | Redirect:
    """The account and whether it names the school; if it does, the disclaimer question comes on its own page."""
    who = web_principal
    c = container(request)
    form = FormReader(await request.form(), labels=DECLARATION_LABELS)
    platform = form.choice("platform", PLATFORMS, missing="Select the platform")
    handle = form.text("handle", missing="Enter the account's name or handle", max_length=200)
    if handle and any(ch.isspace() for ch in handle):
        form.errors["handle"] = "The account's name or handle must not contain spaces"
    names_school = form.choice("names_school", YES_NO, missing="Select yes if the account names or identifies "
                                                                "the school")
    if not form.errors and names_school == "yes":
        answers = {"platform": platform, "handle": handle, "names_school": "yes"}
        await sync_to_thread(Drafts(c.engine).save, who.principal.id, DECLARATION_DRAFT, answers, c.clock.now())
        return Redirect("/my/compliance/personal-accounts/disclaimer", status_code=303)
    if not form.errors:
        done = await _declare(c, who, form, platform, handle, False, False)
        if done:
            return done
    return await sync_to_thread(_declaration_page, request, who, form, 400)


def _disclaimer_page(request: Request[Any, Any, Any], who: SignedIn, form: FormReader | None = None,
                     status: int = 200) -> Template | Redirect:
    c = container(request)
    answers = Drafts(c.engine).get(who.principal.id, DECLARATION_DRAFT, c.clock.now())
    if not answers.get("platform") or not answers.get("handle"):
        return Redirect("/my/compliance/personal-accounts", status_code=303)
    return page(request, who, "compliance/disclaimer.html", status=status, form=form, answers=answers,
                platform=PLATFORMS.get(answers["platform"], answers["platform"]))


@get("/my/compliance/personal-accounts/disclaimer", sync_to_thread=True, include_in_schema=False)
def disclaimer_form(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]
                    ) -> Template | Redirect:
    return _disclaimer_page(request, web_principal)


@post("/my/compliance/personal-accounts/disclaimer", include_in_schema=False)
async def declare_with_disclaimer(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]
                                  ) -> Template | Redirect:
    who = web_principal
    c = container(request)
    answers = await sync_to_thread(Drafts(c.engine).get, who.principal.id, DECLARATION_DRAFT, c.clock.now())
    if not answers.get("platform") or not answers.get("handle"):
        return Redirect("/my/compliance/personal-accounts", status_code=303)
    form = FormReader(await request.form(), labels=DECLARATION_LABELS)
    disclaimer = form.choice("disclaimer_present", YES_NO, missing="Select yes if the profile says that your views "
                                                                    "are your own")
    if not form.errors:
        done = await _declare(c, who, form, answers["platform"], answers["handle"], True, disclaimer == "yes")
        if done:
            return done
    return await sync_to_thread(_disclaimer_page, request, who, form, 400)


#: This module's pages, for api/web/__init__.py.
ROUTES = [my_compliance, person_compliance, policy_form, acknowledge_policy, training_form, record_training,
          declaration_form, declare_personal_account, disclaimer_form, declare_with_disclaimer]
