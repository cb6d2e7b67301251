"""Incidents, from report to police referral (DESIGN §2 item 6): a member of staff reports one; the school's
leaders assess it, involve staff and agencies, refer it to the police, record moderation and parents' take-down
steps, resolve or reopen it, and download its signed evidence bundle.

    GET  /incidents                            the queue: awaiting assessment, then open, then resolved
    GET  /incidents/new                        report an incident: the questions
    POST /incidents/new                        -> check your answers (or, from there, back to the questions)
    POST /incidents/new/submit                 reports it (and attaches the evidence file, if any)
    GET  /incidents/{id}/reported              the confirmation panel with the reference
    GET  /incidents/{id}                       summary, what was done, evidence, chronology (newest first)
    GET  /incidents/{id}/{form}                one of FORMS (assessment, police-referral, ...)
    POST /incidents/{id}/{form}                -> the same service as POST /api/v1/incidents/{id}/{form}
    GET  /incidents/{id}/evidence/{file id}    one evidence file
    GET  /incidents/{id}/evidence-bundle       the signed zip, as GET /api/v1/incidents/{id}/evidence-bundle

The report's answers travel between its pages in hidden fields and its evidence file is chosen on the check page
(decision 0056). Who may do what is the services' `can(...)`: a page shows only the actions its visitor may take,
and a form they may not use answers 403 (an incident they cannot see, 404).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from api.routes.common import container, now_and_today
from api.web.forms import FormReader, command_errors
from api.web.render import page, redirect_with_notice
from api.web.session import SignedIn
from domain.incident import (
    Agency,
    Category,
    IncidentStatus,
    InvolvedKind,
    ModerationKind,
    Report,
    RiskLevel,
    TakedownStep,
    validate_report,
)
from services import audit, queries
from services.authorisation import Action, can
from services.eventstore import Forbidden, NotFound
from services.incidents import check_evidence

LONDON = ZoneInfo("Europe/London")

# ----- the policy's words for the domain's values -----

CATEGORIES = {
    Category.BULLYING: "Bullying",
    Category.DEFAMATORY: "Defamatory content",
    Category.DISCRIMINATORY: "Discriminatory content",
    Category.OFFENSIVE: "Offensive content",
    Category.HARASSING: "Harassment",
    Category.DATA_PROTECTION_BREACH: "Data protection breach",
    Category.CONFIDENTIALITY: "Breach of confidentiality",
    Category.COPYRIGHT: "Copyright",
    Category.EQUALITY: "Breach of the Equality Act",
    Category.COMPROMISING_IMAGE: "Compromising image",
    Category.JOURNALIST_CONTACT: "Contact from a journalist",
    Category.OTHER: "Something else",
}
RISK_LEVELS = {RiskLevel.LOW: "Low", RiskLevel.MEDIUM: "Medium", RiskLevel.HIGH: "High",
               RiskLevel.CRITICAL: "Critical"}
AGENCIES = {
    Agency.POLICE: "Police",
    Agency.LADO: "Local authority designated officer (LADO)",
    Agency.CHILDRENS_SERVICES: "Children's services",
    Agency.ICO: "Information Commissioner's Office (ICO)",
    Agency.PLATFORM: "The platform (for example Facebook or X)",
}
#: What a moderator did, as a choice and as a record.
MODERATION = {
    ModerationKind.HIDE: ("Hide it", "Hidden"),
    ModerationKind.DELETE: ("Delete it", "Deleted"),
    ModerationKind.REPORT: ("Report it to the platform", "Reported to the platform"),
    ModerationKind.BLOCK: ("Block the user", "User blocked"),
}
TAKEDOWN = {
    TakedownStep.REMOVAL_REQUESTED: "Asked the parent or carer to remove the post",
    TakedownStep.DISCUSSION_INVITED: "Invited them to discuss the issues in person",
    TakedownStep.COMPLAINTS_PROCEDURE_REFERRED: "Referred them to the trust's complaints procedure",
}
INVOLVED = {InvolvedKind.PUPIL: "Pupil", InvolvedKind.PARENT: "Parent or carer",
            InvolvedKind.STAFF: "Member of staff", InvolvedKind.EXTERNAL: "Someone outside the school"}
INVOLVED_ROWS = 3  # people named on the report form (more can go in the description)
STATES = {"": "All incidents", "awaiting_assessment": "Awaiting assessment",
          "assessment_overdue": "Assessment overdue", "open": "Open", "police": "Referred to the police",
          "resolved": "Resolved"}
LABELS: dict[str, Any] = {"categories": CATEGORIES, "risk_levels": RISK_LEVELS, "agencies": AGENCIES,
                          "moderation": MODERATION, "takedown": TAKEDOWN, "involved_kinds": INVOLVED}


FILE_TYPES = "an image (PNG, JPEG, GIF or WebP), PDF, text, CSV, JSON, email, MP4 video or MP3 audio file"


def _plain_file_error(form: FormReader) -> None:
    """The service names the accepted content types (for programs); a person is told them in words."""
    if "is not accepted" in form.errors.get("file", ""):
        form.errors["file"] = f"The evidence file must be {FILE_TYPES}"


def short_sha(sha256: str) -> str:
    """The first 12 hex digits of a SHA-256, enough to match a file by eye (the bundle has it in full)."""
    return sha256[:12]


# ----- the queue -----


@get("/incidents", sync_to_thread=True, include_in_schema=False)
def incident_queue(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                   incident_state: FromQuery[str | None] = None) -> Template:
    who = web_principal
    if who.school_id is None:
        raise NotFound("school")
    c = container(request)
    state = incident_state if incident_state in STATES else ""
    items = queries.list_incidents(c.engine, who.principal, who.school_id, c.clock.now(), state or None)
    group = {"awaiting": 0, "open": 1, "resolved": 2}
    items.sort(key=lambda i: group["awaiting" if i["awaiting_assessment"] else i["status"]])  # stable: newest first
    now = c.clock.now()
    for i in items:
        i["age_hours"] = (now - i["reported_at"]).total_seconds() / 3600
    return page(request, who, "incidents/queue.html", items=items, state=state, states=STATES, **LABELS)


# ----- reporting -----

REPORT_LABELS = {"category": "Type of incident", "account_id": "School account", "title": "Summary",
                 "description": "What happened", "post_ref": "Link to the post or comment",
                 "happened_at": "The date it happened", "happened_time": "The time it happened",
                 "file": "The evidence file", "description_of_file": "About the file"}
TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?$", re.IGNORECASE)


def _time(form: FormReader, name: str) -> time | None:
    """A time of day typed as 18:30, 6:30pm or 6pm."""
    text = form.text(name, missing="Enter the time it happened", max_length=10)
    if not text:
        return None
    match = TIME.match(text.replace(" ", ""))
    hour, minute = (int(match.group(1)), int(match.group(2) or 0)) if match else (99, 0)
    half = (match.group(3) or "").lower() if match else ""
    if half:
        hour = -1 if not 1 <= hour <= 12 else hour % 12 + (12 if half == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        form.errors[name] = "Enter the time as 18:30 or 6:30pm"
        return None
    return time(hour, minute)


def _read_report(request: Request[Any, Any, Any], who: SignedIn, form: FormReader) -> Report | None:
    """The report's answers (the questions page, or the hidden fields that carry them): every problem on `form`."""
    c = container(request)
    now, today = now_and_today(c)
    accounts = {str(a["id"]) for a in _account_choices(request, who)}
    category = form.choice("category", list(CATEGORIES), missing="Select the type of incident")
    account = form.text("account_id")
    if account and account not in accounts:
        form.errors["account_id"] = "Select one of the school's accounts, or none"
    title = form.text("title", missing="Enter a summary of what happened", max_length=200)
    description = form.text("description", missing="Describe what happened", max_length=10000)
    post_ref = form.text("post_ref", max_length=500)
    day = form.date("happened_at", missing="Enter the date it happened", past=True, today=today)
    at = _time(form, "happened_time")
    involved = []
    for i in range(INVOLVED_ROWS):
        name = form.text(f"involved-{i}-name", max_length=200)
        kind = form.text(f"involved-{i}-kind")
        if name and kind not in INVOLVED:
            form.errors[f"involved-{i}-kind"] = f"Select who person {i + 1} is"
        elif kind and not name:
            form.errors[f"involved-{i}-name"] = f"Enter the name of person {i + 1}"
        elif name:
            involved.append({"kind": kind, "name": name})
    happened_at = datetime.combine(day, at, LONDON) if day and at else None
    if happened_at is not None and happened_at > now:
        form.errors["happened_time"] = "The time it happened must be in the past"
    if form.errors or happened_at is None:
        return None
    report = Report(title, category, description, happened_at, involved, UUID(account) if account else None,
                    post_ref or None)
    with command_errors(form):  # the domain's own rules, so the check page never shows a report it would refuse
        return validate_report(report, now)
    return None


def _account_choices(request: Request[Any, Any, Any], who: SignedIn) -> list[dict[str, Any]]:
    if who.school_id is None:
        return []
    return queries.incident_account_choices(container(request).engine, who.principal, who.school_id)


def _report_page(request: Request[Any, Any, Any], who: SignedIn, template: str, form: FormReader | None,
                 status: int = 200, **context: Any) -> Template:
    if who.school_id is None or not can(who.principal, Action.INCIDENT_REPORT, who.school_id):
        raise Forbidden("you cannot report incidents at this school")
    return page(request, who, template, status=status, form=form, accounts=_account_choices(request, who),
                involved_rows=range(INVOLVED_ROWS), **LABELS, **context)


@get("/incidents/new", sync_to_thread=True, include_in_schema=False)
def report_questions(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    return _report_page(request, web_principal, "incidents/report.html", None)


@post("/incidents/new", include_in_schema=False)
async def report_check(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    """The questions' answers: problems back on the questions; else the check page. `change` (the check page's
    "Change your answers") shows the questions again with what was answered."""
    who = web_principal
    data = await request.form()
    form = FormReader(data, labels=REPORT_LABELS)
    report = await sync_to_thread(_read_report, request, who, form)
    if data.get("change"):  # "Change your answers": the questions again, as they were answered
        form.errors.clear()
        return await sync_to_thread(_report_page, request, who, "incidents/report.html", form)
    if report is None:
        return await sync_to_thread(_report_page, request, who, "incidents/report.html", form, 400)
    return await sync_to_thread(_report_page, request, who, "incidents/check.html", form, report=report)


@post("/incidents/new/submit", include_in_schema=False, opt={"upload": True})  # api/limits.py: up to 25 MB
async def report_submit(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]
                        ) -> Template | Redirect:
    """Reports the incident with the same service as POST /api/v1/schools/{id}/incidents, then attaches the
    evidence file (if one was chosen) as POST /api/v1/incidents/{id}/evidence does; a file the service would
    refuse is checked first, so nothing is reported until the whole report can be."""
    who = web_principal
    c = container(request)
    data = await request.form()
    form = FormReader(data, labels=REPORT_LABELS)
    report = await sync_to_thread(_read_report, request, who, form)
    if report is None:  # the hidden answers were changed on the way: ask the questions again
        return await sync_to_thread(_report_page, request, who, "incidents/report.html", form, 400)
    upload = data.get("file")
    content = await upload.read() if isinstance(upload, UploadFile) and upload.filename else b""
    about = form.text("description_of_file", max_length=2000) or None
    if content and isinstance(upload, UploadFile) and not form.errors:  # its description was checked above
        form.anchors["file"] = "file"  # the service's messages about "file" go beside the file input
        with command_errors(form):
            check_evidence(upload.filename or "", upload.content_type or "", content, about)
        _plain_file_error(form)
    incident_id: UUID | None = None
    if not form.errors:
        with command_errors(form):
            assert who.school_id is not None
            incident_id = await sync_to_thread(c.incidents.report, who.principal, who.school_id, report)
    if form.errors or incident_id is None:
        return await sync_to_thread(_report_page, request, who, "incidents/check.html", form, 400, report=report)
    if content and isinstance(upload, UploadFile):
        await sync_to_thread(c.incidents.add_evidence, who.principal, incident_id, upload.filename or "",
                             upload.content_type or "", content, about)
    return Redirect(f"/incidents/{incident_id}/reported", status_code=303)


@get("/incidents/{incident_id:uuid}/reported", sync_to_thread=True, include_in_schema=False)
def report_confirmation(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                        incident_id: FromPath[UUID]) -> Template:
    c = container(request)
    incident = queries.get_incident(c.engine, web_principal.principal, incident_id, c.clock.now())
    return page(request, web_principal, "incidents/reported.html", incident=incident)


# ----- one incident -----


def _allowed(who: SignedIn, incident: Mapping[str, Any]) -> dict[str, bool]:
    """What the visitor may do to this incident now (the services' rules: `can` and the incident's state)."""
    school, is_open = incident["school_id"], incident["status"] == IncidentStatus.OPEN
    manage = can(who.principal, Action.INCIDENT_MANAGE, school)
    return {"manage": manage, "assess": manage and is_open and incident["assessed_at"] is None,
            "manage_open": manage and is_open, "reopen": manage and not is_open,
            "moderate": can(who.principal, Action.INCIDENT_MODERATE, school),
            "bundle": can(who.principal, Action.INCIDENT_BUNDLE, school), "note": True}


def _names(request: Request[Any, Any, Any], who: SignedIn, incident: Mapping[str, Any]) -> dict[str, str]:
    """Names of the school's people, for the ids the chronology holds (empty for those who may not list staff)."""
    c = container(request)
    people = queries.list_staff(c.engine, who.principal, incident["school_id"], now_and_today(c)[1])
    return {str(p["id"]): p["display_name"] for p in people} | {str(incident["reporter_id"]): incident["reporter_name"]}


def _chronology(trail: list[dict[str, Any]], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """The audit trail of the incident as timeline items, newest first."""
    items = []
    for event in reversed(trail):
        d, actor = event["data"], event["actor"]
        person = names.get(str(d.get("person_id") or d.get("subject_id")), "a member of staff")
        what: dict[str, tuple[str, str | None]] = {
            "IncidentReported": ("Incident reported", f"{CATEGORIES.get(d.get('category'), d.get('category'))}: "
                                                      f"{d.get('title')}"),
            "IncidentAssessed": ("Initial assessment", f"Risk: {RISK_LEVELS.get(d.get('risk_level'), '').lower()}. "
                                 f"Safeguarding concern: {'yes' if d.get('safeguarding_concern') else 'no'}. "
                                 f"Immediate actions: {d.get('immediate_actions')}"),
            "InvestigatorNamed": ("Investigator named", person),
            "StaffInvolvementRecorded": ("Staff involvement recorded", f"{person}: {d.get('involvement')}"),
            "AgencyInvolved": (f"{AGENCIES.get(d.get('agency'), d.get('agency'))} involved", "; ".join(
                x for x in (f"Reference {d['reference']}" if d.get("reference") else None,
                            f"Contact {d['contact']}" if d.get("contact") else None, event["reason"]) if x)),
            "PoliceReferralMade": ("Referred to the police", f"Crime reference {d.get('crime_reference')}; "
                                   f"officer {d.get('officer')}; referred on "
                                   f"{_long_day(d.get('referred_on'))}"),
            "DisciplinaryReferralMade": ("Disciplinary referral", f"{person}: {d.get('summary')}"),
            "IncidentNoteAdded": ("Note added", d.get("text")),
            "EvidenceAdded": ("Evidence added", f"{d.get('filename')} (SHA-256 {short_sha(d.get('sha256') or '')})"),
            "ModerationActionTaken": (f"{MODERATION.get(d.get('action'), ('', 'Moderation action'))[1]}: "
                                      f"{d.get('target')}", f"Told the audience: {event['reason']}"),
            "TakedownStepRecorded": (TAKEDOWN.get(d.get("step"), "Take-down step"), "; ".join(
                x for x in (d.get("parent_name"), d.get("notes")) if x)),
            "IncidentResolved": ("Resolved", f"Outcome: {d.get('outcome')}"),
            "IncidentReopened": ("Reopened", f"Reason: {event['reason']}"),
            "EvidenceBundleGenerated": ("Evidence bundle downloaded",
                                        f"Manifest SHA-256 {short_sha(d.get('manifest_sha256') or '')}"),
        }
        title, description = what.get(event["type"], (event["type"], None))
        role = (actor.get("role") or actor.get("kind") or "").replace("_", " ")
        items.append({"title": title, "at": event["occurred_at"], "description": description,
                      "byline": f"by {actor.get('display_name')}" + (f" ({role.upper() if role == 'slt' else role})"
                                                                      if role else "")})
    return items


def _long_day(iso: str | None) -> str:
    if not iso:
        return ""
    day = date.fromisoformat(iso)
    return f"{day.day} {day:%B %Y}"


@get("/incidents/{incident_id:uuid}", sync_to_thread=True, include_in_schema=False)
def incident_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                  incident_id: FromPath[UUID]) -> Template:
    who = web_principal
    c = container(request)
    incident = queries.get_incident(c.engine, who.principal, incident_id, c.clock.now())
    trail = audit.audit_events(c.engine, who.principal, entity_id=incident_id, limit=5000)
    names = _names(request, who, incident)
    accounts = {a["id"]: a for a in queries.incident_account_choices(c.engine, who.principal,
                                                                      incident["school_id"])}
    return page(request, who, "incidents/incident.html", incident=incident, allowed=_allowed(who, incident),
                chronology=_chronology(trail, names), account=accounts.get(incident["account_id"]),
                investigators=[names.get(str(i), "a member of staff") for i in incident["investigator_ids"]],
                short_sha=short_sha, **LABELS)


# ----- the incident's forms -----

#: Each form's page: its template, the permission it needs (from `_allowed`), its title, and what it does.
FORMS = {
    "assessment": ("incidents/forms/assessment.html", "assess", "Initial assessment",
                   "make the initial assessment"),
    "staff": ("incidents/forms/staff.html", "manage_open", "Record a member of staff involved",
              "record staff involved"),
    "agencies": ("incidents/forms/agency.html", "manage", "Involve an external agency", "involve an agency"),
    "police-referral": ("incidents/forms/police.html", "manage", "Refer to the police", "refer it to the police"),
    "disciplinary-referral": ("incidents/forms/disciplinary.html", "manage", "Make a disciplinary referral",
                              "make a disciplinary referral"),
    "notes": ("incidents/forms/note.html", "note", "Add a note", "add a note"),
    "evidence": ("incidents/forms/evidence.html", "note", "Add evidence", "add evidence"),
    "moderation-actions": ("incidents/forms/moderation.html", "moderate", "Record a moderation action",
                           "record moderation actions"),
    "takedown-steps": ("incidents/forms/takedown.html", "moderate", "Record a take-down step",
                       "record take-down steps"),
    "resolve": ("incidents/forms/resolve.html", "manage_open", "Resolve the incident", "resolve it"),
    "reopen": ("incidents/forms/reopen.html", "reopen", "Reopen the incident", "reopen it"),
}


def _refusal(permission: str, what: str, allowed: Mapping[str, bool], incident: Mapping[str, Any]) -> str:
    """Why the visitor may not use a form, in words: their role, or the incident's state."""
    if permission in ("assess", "manage_open", "reopen") and allowed["manage"]:
        if permission == "reopen":
            return "Only a resolved incident can be reopened."
        if incident["status"] != IncidentStatus.OPEN:
            return "The incident is resolved: reopen it first."
        return "The initial assessment has been made already."
    who_may = "the school's leaders and moderators" if permission == "moderate" else "the school's leaders"
    return f"Only {who_may} can {what} on this incident."


def _form_page(request: Request[Any, Any, Any], who: SignedIn, incident_id: UUID, name: str,
               form: FormReader | None, status: int = 200) -> Template:
    """One of FORMS for an incident the visitor can see (404 otherwise), if they may use it (403 otherwise)."""
    if name not in FORMS:
        raise NotFound("page")
    template, permission, title, what = FORMS[name]
    c = container(request)
    incident = queries.get_incident(c.engine, who.principal, incident_id, c.clock.now())
    allowed = _allowed(who, incident)
    if not allowed[permission]:
        raise Forbidden(_refusal(permission, what, allowed, incident))
    staff = queries.list_staff(c.engine, who.principal, incident["school_id"], now_and_today(c)[1])
    return page(request, who, template, status=status, form=form, incident=incident, title=title, name=name,
                staff=staff, **LABELS)


@get([f"/incidents/{{incident_id:uuid}}/{name}" for name in FORMS], include_in_schema=False)
async def incident_form(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                        incident_id: FromPath[UUID]) -> Template:
    """Any of FORMS, empty (its POST is the form's own handler below). Async: litestar leaves a sync_to_thread
    handler served at several paths unawaited."""
    name = request.url.path.rsplit("/", 1)[-1]
    return await sync_to_thread(_form_page, request, web_principal, incident_id, name, None)


async def _finish(request: Request[Any, Any, Any], who: SignedIn, incident_id: UUID, name: str, form: FormReader,
                  command: Callable[[], object], notice: str) -> Template | Redirect:
    """Runs `command` (a service call) if the form is complete; its refusal, or the form's problems, back on the
    form (400); else back to the incident with `notice`."""
    if not form.errors:
        with command_errors(form):
            await sync_to_thread(command)
    if form.errors:
        return await sync_to_thread(_form_page, request, who, incident_id, name, form, 400)
    return redirect_with_notice(f"/incidents/{incident_id}", notice)


def _person(form: FormReader, name: str, staff_ids: set[str], missing: str) -> UUID | None:
    value = form.choice(name, sorted(staff_ids), missing=missing)
    return UUID(value) if name not in form.errors else None


async def _staff_ids(request: Request[Any, Any, Any], who: SignedIn, incident_id: UUID) -> set[str]:
    c = container(request)

    def read() -> set[str]:
        incident = queries.get_incident(c.engine, who.principal, incident_id, c.clock.now())
        return {str(p["id"]) for p in queries.list_staff(c.engine, who.principal, incident["school_id"],
                                                          now_and_today(c)[1])}
    return await sync_to_thread(read)


@post("/incidents/{incident_id:uuid}/assessment", include_in_schema=False)
async def assess(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                 incident_id: FromPath[UUID]) -> Template | Redirect:
    who, c = web_principal, container(request)
    data = await request.form()
    form = FormReader(data, labels={"risk_level": "Risk level", "safeguarding_concern": "Safeguarding concern",
                                    "immediate_actions": "Immediate actions", "investigator_ids": "Investigators"})
    risk = form.choice("risk_level", list(RISK_LEVELS), missing="Select the risk level")
    concern = form.choice("safeguarding_concern", ["yes", "no"],
                          missing="Select yes if there is a safeguarding concern")
    actions = form.text("immediate_actions", missing="Enter the immediate actions taken", max_length=5000)
    staff_ids = await _staff_ids(request, who, incident_id)
    chosen = [v for v in data.getall("investigator_ids", []) if isinstance(v, str)]
    form.values["investigator_ids"] = ",".join(chosen)
    if any(v not in staff_ids for v in chosen):
        form.errors["investigator_ids"] = "Select investigators from the school's staff"
    return await _finish(request, who, incident_id, "assessment", form, lambda: c.incidents.assess(
        who.principal, incident_id, risk, concern == "yes", actions, tuple(UUID(v) for v in chosen)),
        f"Assessment recorded: risk {RISK_LEVELS.get(risk, risk).lower()}")


@post("/incidents/{incident_id:uuid}/staff", include_in_schema=False)
async def record_staff(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                       incident_id: FromPath[UUID]) -> Template | Redirect:
    who, c = web_principal, container(request)
    form = FormReader(await request.form(), labels={"person_id": "Member of staff", "involvement": "Involvement"})
    person = _person(form, "person_id", await _staff_ids(request, who, incident_id),
                     missing="Select the member of staff")
    involvement = form.text("involvement", missing="Describe how they are involved", max_length=2000)
    return await _finish(request, who, incident_id, "staff", form, lambda: c.incidents.record_staff_involvement(
        who.principal, incident_id, person or UUID(int=0), involvement), "Staff involvement recorded")


@post("/incidents/{incident_id:uuid}/agencies", include_in_schema=False)
async def involve_agency(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                         incident_id: FromPath[UUID]) -> Template | Redirect:
    who, c = web_principal, container(request)
    form = FormReader(await request.form(), labels={"agency": "Agency", "reference": "Their reference",
                                                    "contact": "Contact", "notes": "Notes"})
    agency = form.choice("agency", list(AGENCIES), missing="Select the agency")
    reference = form.text("reference", max_length=100)
    contact = form.text("contact", max_length=200)
    notes = form.text("notes", max_length=2000)
    return await _finish(request, who, incident_id, "agencies", form, lambda: c.incidents.involve_agency(
        who.principal, incident_id, agency, reference or None, contact or None, notes or None),
        f"Agency involved: {AGENCIES.get(agency, agency)}")


@post("/incidents/{incident_id:uuid}/police-referral", include_in_schema=False)
async def refer_to_police(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                          incident_id: FromPath[UUID]) -> Template | Redirect:
    who, c = web_principal, container(request)
    form = FormReader(await request.form(), labels={"crime_reference": "Crime reference", "officer": "Officer",
                                                    "referred_on": "The date you referred it"})
    crime_reference = form.text("crime_reference", missing="Enter the crime reference the police gave you",
                                max_length=100)
    officer = form.text("officer", missing="Enter the officer's name and number", max_length=200)
    referred_on = form.date("referred_on", missing="Enter the date you referred it", past=True,
                            today=now_and_today(c)[1])
    return await _finish(request, who, incident_id, "police-referral", form, lambda: c.incidents.refer_to_police(
        who.principal, incident_id, crime_reference, officer, referred_on or date.min),
        f"Referred to the police: crime reference {crime_reference}")


@post("/incidents/{incident_id:uuid}/disciplinary-referral", include_in_schema=False)
async def refer_to_disciplinary(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                                incident_id: FromPath[UUID]) -> Template | Redirect:
    who, c = web_principal, container(request)
    form = FormReader(await request.form(), labels={"subject_id": "Member of staff", "summary": "Summary"})
    subject = _person(form, "subject_id", await _staff_ids(request, who, incident_id),
                      missing="Select the member of staff")
    summary = form.text("summary", missing="Enter a summary for the disciplinary referral", max_length=5000)
    return await _finish(request, who, incident_id, "disciplinary-referral", form,
                         lambda: c.incidents.refer_to_disciplinary(who.principal, incident_id,
                                                                   subject or UUID(int=0), summary),
                         "Disciplinary referral recorded")


@post("/incidents/{incident_id:uuid}/notes", include_in_schema=False)
async def add_note(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                   incident_id: FromPath[UUID]) -> Template | Redirect:
    who, c = web_principal, container(request)
    form = FormReader(await request.form(), labels={"text": "Note"})
    text = form.text("text", missing="Enter the note", max_length=10000)
    return await _finish(request, who, incident_id, "notes", form,
                         lambda: c.incidents.add_note(who.principal, incident_id, text), "Note added")


@post("/incidents/{incident_id:uuid}/evidence", include_in_schema=False, opt={"upload": True})
async def add_evidence(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                       incident_id: FromPath[UUID]) -> Template | Redirect:
    who, c = web_principal, container(request)
    data = await request.form()
    form = FormReader(data, labels={"file": "The evidence file", "description": "About the file"})
    upload = data.get("file")
    form.values["file"] = ""
    content = await upload.read() if isinstance(upload, UploadFile) and upload.filename else b""
    if not content:
        form.errors["file"] = "Choose the evidence file" if not isinstance(upload, UploadFile) or \
            not upload.filename else "The evidence file is empty"
    about = form.text("description", max_length=2000) or None
    filename = upload.filename if isinstance(upload, UploadFile) else ""
    ctype = upload.content_type if isinstance(upload, UploadFile) else ""
    if content and not form.errors:
        with command_errors(form):
            check_evidence(filename or "", ctype or "", content, about)
        _plain_file_error(form)
    return await _finish(request, who, incident_id, "evidence", form, lambda: c.incidents.add_evidence(
        who.principal, incident_id, filename or "", ctype or "", content, about), f"Evidence added: {filename}")


@post("/incidents/{incident_id:uuid}/moderation-actions", include_in_schema=False)
async def take_moderation_action(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                                 incident_id: FromPath[UUID]) -> Template | Redirect:
    who, c = web_principal, container(request)
    form = FormReader(await request.form(), labels={"action": "Action", "target": "What it was done to",
                                                    "reason": "What you told the audience"})
    action = form.choice("action", list(MODERATION), missing="Select what you did")
    target = form.text("target", missing="Enter the post, comment or user it was done to", max_length=500)
    reason = form.text("reason", missing="Enter what you told the audience, and why", max_length=2000)
    return await _finish(request, who, incident_id, "moderation-actions", form,
                         lambda: c.incidents.take_moderation_action(who.principal, incident_id, action, target,
                                                                    reason),
                         f"Moderation action recorded: {MODERATION.get(action, ('', action))[1].lower()}")


@post("/incidents/{incident_id:uuid}/takedown-steps", include_in_schema=False)
async def record_takedown_step(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                               incident_id: FromPath[UUID]) -> Template | Redirect:
    who, c = web_principal, container(request)
    form = FormReader(await request.form(), labels={"step": "Step", "parent_name": "Parent or carer",
                                                    "notes": "Notes"})
    step = form.choice("step", list(TAKEDOWN), missing="Select the step you took")
    parent = form.text("parent_name", missing="Enter the parent or carer's name", max_length=200)
    notes = form.text("notes", max_length=5000)
    return await _finish(request, who, incident_id, "takedown-steps", form,
                         lambda: c.incidents.record_takedown_step(who.principal, incident_id, step, parent,
                                                                  notes or None),
                         "Take-down step recorded")


@post("/incidents/{incident_id:uuid}/resolve", include_in_schema=False)
async def resolve(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                  incident_id: FromPath[UUID]) -> Template | Redirect:
    who, c = web_principal, container(request)
    form = FormReader(await request.form(), labels={"outcome": "Outcome"})
    outcome = form.text("outcome", missing="Enter the outcome", max_length=5000)
    return await _finish(request, who, incident_id, "resolve", form,
                         lambda: c.incidents.resolve(who.principal, incident_id, outcome), "Incident resolved")


@post("/incidents/{incident_id:uuid}/reopen", include_in_schema=False)
async def reopen(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                 incident_id: FromPath[UUID]) -> Template | Redirect:
    who, c = web_principal, container(request)
    form = FormReader(await request.form(), labels={"reason": "Reason"})
    reason = form.text("reason", missing="Enter why you are reopening it", max_length=2000)
    return await _finish(request, who, incident_id, "reopen", form,
                         lambda: c.incidents.reopen(who.principal, incident_id, reason), "Incident reopened")


# ----- downloads -----


@get("/incidents/{incident_id:uuid}/evidence/{evidence_id:uuid}", sync_to_thread=True, include_in_schema=False)
def evidence_file(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                  incident_id: FromPath[UUID], evidence_id: FromPath[UUID]) -> Response[bytes]:
    c = container(request)
    record, data = audit.evidence_file(c.engine, c.files, web_principal.principal, incident_id, evidence_id)
    return Response(data, media_type=record["content_type"], headers={
        "Content-Disposition": f'attachment; filename="{_ascii(record["filename"])}"', "Cache-Control": "no-store",
        "Content-Security-Policy": "sandbox"})


@get("/incidents/{incident_id:uuid}/evidence-bundle", sync_to_thread=True, include_in_schema=False)
def evidence_bundle(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                    incident_id: FromPath[UUID]) -> Response[bytes]:
    """The signed zip, built and recorded by the same function as GET /api/v1/incidents/{id}/evidence-bundle."""
    c = container(request)
    data = audit.evidence_bundle(c.engine, c.recorder, c.incidents, c.files, c.bundles, web_principal.principal,
                                 incident_id, c.clock.now())
    reference = queries.get_incident(c.engine, web_principal.principal, incident_id, c.clock.now())["reference"]
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{reference}-evidence-bundle.zip"',
        "Cache-Control": "no-store"})


def _ascii(filename: str) -> str:
    """A file name safe inside a Content-Disposition header's quotes."""
    return re.sub(r"[^A-Za-z0-9._ -]", "_", filename)[:200] or "evidence"


ROUTES = [incident_queue, report_questions, report_check, report_submit, report_confirmation, incident_page,
          incident_form, assess, record_staff, involve_agency, refer_to_police, refer_to_disciplinary, add_note,
          add_evidence, take_moderation_action, record_takedown_step, resolve, reopen, evidence_file,
          evidence_bundle]

__all__ = ["ROUTES"]
