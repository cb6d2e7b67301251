"""Posts on school accounts (issue 24): compose with the policy checks shown as the runner types, the post's page
(submit, approve or return, record as published, remove, a parent's take-down request), the leaders' approval
queue, an account's post history and the open take-down requests. The same services and read queries as
/api/v1/accounts/{id}/posts and /api/v1/posts/{id}/... (SocialGov never posts to the platforms itself).

    GET  /accounts/{id}/posts              the account's post history and its open take-down requests
    GET  /accounts/{id}/posts/new          compose (checks as one types: htmx, or the "Check" button)
    POST /accounts/{id}/posts/new          check (shows the findings) or save the draft
    POST /accounts/{id}/posts/checks       htmx: the findings of the draft typed so far (nothing recorded)
    GET  /posts/{id}                       the post, its findings, approvals and what may be done next
    GET  /posts/{id}/edit, POST            revise the draft
    POST /posts/{id}/submit|approve|return|publish|remove|takedown
    GET  /posts/approvals                  posts awaiting approval at the school, oldest first
    GET  /posts/takedowns                  parents' take-down requests not yet settled
    GET  /accounts/{id}/posting-rules, POST  every post signed? approvers of every post, in order
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from api.routes.common import container
from api.web.accounts import account_detail
from api.web.forms import FormReader, command_errors
from api.web.render import page, redirect_with_notice
from api.web.session import SignedIn
from domain.post_checks import Draft, Finding, Media, PostingRules, Severity, SharedMaterial
from services import post_queries, queries
from services.authorisation import Action, can
from services.eventstore import Forbidden, NotFound

Row = dict[str, Any]

SEVERITY_TEXT = {Severity.BLOCKS.value: ("Must be put right", "govuk-tag--red"),
                 Severity.NEEDS_LEADER.value: ("Needs a leader's approval", "govuk-tag--orange"),
                 Severity.ADVICE.value: ("Advice", "govuk-tag--blue")}
LABELS = {"text": "Text of the post", "media_description": "What the photo or video shows",
          "media_tags": "Pupils tagged", "links": "Links", "shared_description": "Shared material",
          "shared_source": "Source", "shared_permission": "Permission", "url": "Address of the published post",
          "reason": "Reason", "told_audience": "What the audience was told", "parent_name": "Parent's name",
          "contact": "How to contact them", "concern": "What they ask and why", "published_at": "When published"}


def findings_view(findings: Sequence[Mapping[str, Any]], text: str) -> list[Row]:
    """Findings as the pages show them: severity words and tag colour, the words of the post they are about."""
    out = []
    for f in findings:
        words, classes = SEVERITY_TEXT[str(f["severity"])]
        start, end = f.get("start"), f.get("end")
        quote = text[start:end] if isinstance(start, int) and isinstance(end, int) else None
        out.append({**f, "severity_text": words, "tag_classes": classes, "quote": quote})
    order = list(SEVERITY_TEXT)
    return sorted(out, key=lambda f: order.index(str(f["severity"])))


def _as_rows(findings: list[Finding]) -> list[Row]:
    return [f.as_dict() for f in findings]


def read_draft(form: FormReader) -> Draft:
    """The compose form's answers as a draft (one photo or video and one shared item; the API takes lists)."""
    text = form.text("text", max_length=5000)
    media_description = form.text("media_description")
    has_people = form.data.get("media_has_people") == "yes"
    form.values["media_has_people"] = "yes" if has_people else ""
    tags = tuple(t.strip() for t in form.text("media_tags").replace(";", ",").split(",") if t.strip())
    links = tuple(line.strip() for line in form.text("links", max_length=4000).splitlines() if line.strip())
    shared_description = form.text("shared_description")
    source, permission = form.text("shared_source"), form.text("shared_permission")
    controversial = form.data.get("controversial") == "yes"
    form.values["controversial"] = "yes" if controversial else ""
    media = (Media(media_description, has_people, tags),) if media_description or tags or has_people else ()
    shared = ((SharedMaterial(shared_description, source or None, permission or None),)
              if shared_description or source or permission else ())
    return Draft(text, media, links, shared, controversial)


def _anchor_fields(form: FormReader) -> None:
    """The services name fields as the API does (media[0].description): point them at this form's inputs."""
    for api_name, name in (("media[0].description", "media_description"), ("links[0]", "links"),
                           ("shared[0].description", "shared_description")):
        form.anchors[api_name] = name
        form.labels = {**form.labels, api_name: LABELS[name]}


def _form_from_post(post: Row) -> FormReader:
    content = post["content"]
    media = content["media"][0] if content["media"] else {}
    shared = content["shared"][0] if content["shared"] else {}
    form = FormReader({}, labels=LABELS)
    form.values.update(text=content["text"], controversial="yes" if content["controversial"] else "",
                       media_description=media.get("description", ""),
                       media_has_people="yes" if media.get("has_people") else "",
                       media_tags=", ".join(media.get("tagged_pupil_refs", [])), links="\n".join(content["links"]),
                       shared_description=shared.get("description", ""), shared_source=shared.get("source") or "",
                       shared_permission=shared.get("permission") or "")
    return form


def _may_draft(who: SignedIn, account: Row) -> bool:
    runner = any(r["id"] == who.principal.id for r in account["runners"])
    return account["status"] == "active" and (runner or can(who.principal, Action.POST_DRAFT, account["school_id"]))


# ----- an account's posts -----
@get("/accounts/{account_id:uuid}/posts", sync_to_thread=True, include_in_schema=False)
def history(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
            account_id: FromPath[UUID]) -> Template:
    c = container(request)
    account = account_detail(request, web_principal, account_id)
    posts = post_queries.list_posts(c.engine, web_principal.principal, account_id, c.clock.now())
    takedowns = [t for t in post_queries.open_takedowns(c.engine, web_principal.principal, account["school_id"])
                 if t["account_id"] == account_id]
    return page(request, web_principal, "posts/history.html", account=account, posts=posts, takedowns=takedowns,
                may_draft=_may_draft(web_principal, account))


def _compose(request: Request[Any, Any, Any], who: SignedIn, account: Row, form: FormReader | None,
             findings: list[Row] | None, status: int = 200, post: Row | None = None) -> Template:
    rules = container(request).posts.posting_rules(account["id"])
    form = form or FormReader({}, labels=LABELS)
    return page(request, who, "posts/compose.html", status=status, account=account, form=form, findings=findings,
                post=post, signature_required=rules.signature_required, checked=findings is not None)


@get("/accounts/{account_id:uuid}/posts/new", sync_to_thread=True, include_in_schema=False)
def compose(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
            account_id: FromPath[UUID]) -> Template:
    account = account_detail(request, web_principal, account_id)
    if not _may_draft(web_principal, account):
        raise Forbidden(Action.POST_DRAFT.refusal)
    return _compose(request, web_principal, account, None, None)


@post("/accounts/{account_id:uuid}/posts/new", include_in_schema=False)
async def compose_post(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                       account_id: FromPath[UUID]) -> Template | Redirect:
    data = await request.form()
    return await sync_to_thread(_save, request, web_principal, account_id, None, data)


def _save(request: Request[Any, Any, Any], who: SignedIn, account_id: UUID | None, post_id: UUID | None,
          data: Mapping[str, Any]) -> Template | Redirect:
    c = container(request)
    post = post_queries.get_post(c.engine, who.principal, post_id, c.clock.now()) if post_id else None
    account = account_detail(request, who, post["account_id"] if post else account_id)  # type: ignore[arg-type]
    form = FormReader(data, labels=LABELS)
    _anchor_fields(form)
    draft = read_draft(form)
    if data.get("action") == "check":
        findings = findings_view(_as_rows(c.posts.preview(who.principal, account["id"], draft)), draft.text)
        return _compose(request, who, account, form, findings, post=post)
    if not draft.text:
        form.errors["text"] = "Enter the text of the post"
    saved: UUID | None = None
    if not form.errors:
        with command_errors(form):
            if post is None:
                saved = c.posts.draft(who.principal, account["id"], draft)
            else:
                c.posts.revise(who.principal, post["id"], draft)
                saved = post["id"]
    if form.errors or saved is None:
        return _compose(request, who, account, form, None, status=400, post=post)
    return redirect_with_notice(f"/posts/{saved}", "Draft saved and checked" if post is None else "Draft updated "
                                "and checked again")


@post("/accounts/{account_id:uuid}/posts/checks", include_in_schema=False)
async def live_checks(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                      account_id: FromPath[UUID]) -> Template | Redirect:
    """htmx: the findings of what has been typed so far; nothing is recorded. Without htmx, the compose page."""
    data = await request.form()
    return await sync_to_thread(_live_checks, request, web_principal, account_id, data)


def _live_checks(request: Request[Any, Any, Any], who: SignedIn, account_id: UUID,
                 data: Mapping[str, Any]) -> Template | Redirect:
    if not request.headers.get("hx-request"):
        return _save(request, who, account_id, None, {**data, "action": "check"})
    c = container(request)
    form = FormReader(data, labels=LABELS)
    draft = read_draft(form)
    findings = findings_view(_as_rows(c.posts.preview(who.principal, account_id, draft)), draft.text)
    return Template("posts/_checks.html", headers={"Cache-Control": "no-store"},
                    context={"findings": findings, "checked": True, "empty": not draft.text})


# ----- one post -----
def _post_context(request: Request[Any, Any, Any], who: SignedIn, post_id: UUID) -> Row:
    c = container(request)
    post = post_queries.get_post(c.engine, who.principal, post_id, c.clock.now())
    account = account_detail(request, who, post["account_id"])
    p, school, status = who.principal, post["school_id"], post["status"]
    runner = any(r["id"] == p.id for r in account["runners"])
    author = post["author_id"] == p.id
    approver_ids = [UUID(str(i)) for i in post["approver_ids"]]
    decided = {d.get("by_id") for d in post["approvals"] if d["decision"] == "approved"}
    next_approver = next((i for i in approver_ids if str(i) not in decided), None)
    leader = can(p, Action.POST_APPROVE, school)
    findings = findings_view(post["findings"], post["text"])
    advice = [f for f in findings if f["severity"] == Severity.ADVICE.value]
    needs_leader = any(f["severity"] == Severity.NEEDS_LEADER.value for f in findings)
    blocks = any(f["severity"] == Severity.BLOCKS.value for f in findings)
    may_write = runner or can(p, Action.POST_DRAFT, school)
    may = {
        "edit": may_write and status in ("draft", "returned", "approved", "awaiting_approval"),
        "submit": may_write and status in ("draft", "returned") and not blocks
                  and (needs_leader or bool(c.posts.posting_rules(account["id"]).approver_ids)),
        "decide": status == "awaiting_approval" and not author
                  and (p.id == next_approver if approver_ids else leader),
        "publish": (runner or can(p, Action.POST_PUBLISH, school)) and not blocks and (
            status == "approved" or (status in ("draft", "returned") and not needs_leader
                                     and not c.posts.posting_rules(account["id"]).approver_ids)),
        "remove": status == "published" and (runner or can(p, Action.POST_REMOVE, school)),
        "takedown": status == "published" and (runner or can(p, Action.TAKEDOWN_RECORD, school)),
    }
    return {"post": post, "account": account, "findings": findings, "advice": advice, "blocks": blocks,
            "needs_leader": needs_leader, "may": may, "author": author}


@get("/posts/{post_id:uuid}", sync_to_thread=True, include_in_schema=False)
def post_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
              post_id: FromPath[UUID]) -> Template:
    return page(request, web_principal, "posts/post.html", form=None, form_name=None,
                **_post_context(request, web_principal, post_id))


@get("/posts/{post_id:uuid}/edit", sync_to_thread=True, include_in_schema=False)
def edit(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
         post_id: FromPath[UUID]) -> Template:
    context = _post_context(request, web_principal, post_id)
    if not context["may"]["edit"]:
        raise Forbidden("you cannot change this post")
    post = context["post"]
    return _compose(request, web_principal, context["account"], _form_from_post(post), None, post=post)


@post("/posts/{post_id:uuid}/edit", include_in_schema=False)
async def edit_post(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                    post_id: FromPath[UUID]) -> Template | Redirect:
    data = await request.form()
    return await sync_to_thread(_save, request, web_principal, None, post_id, data)


def _act(request: Request[Any, Any, Any], who: SignedIn, post_id: UUID, name: str, data: Mapping[str, Any],
         run: Callable[[FormReader], str | None]) -> Template | Redirect:
    """One of the post page's forms: read it and run the command; its problems are shown beside that form."""
    form = FormReader(data, labels=LABELS)
    notice = None
    with command_errors(form):
        notice = run(form)
    if form.errors or notice is None:
        return page(request, who, "posts/post.html", status=400, form=form, form_name=name,
                    **_post_context(request, who, post_id))
    return redirect_with_notice(f"/posts/{post_id}", notice)


def _command(name: str, run: Callable[[Any, SignedIn, UUID, FormReader], str | None]) -> Any:
    @post(f"/posts/{{post_id:uuid}}/{name}", include_in_schema=False, name=f"post_{name}")
    async def handler(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                      post_id: FromPath[UUID]) -> Template | Redirect:
        data = await request.form()
        return await sync_to_thread(_act, request, web_principal, post_id, name, data,
                                    lambda form: run(container(request), web_principal, post_id, form))
    return handler


def _submit(c: Any, who: SignedIn, post_id: UUID, form: FormReader) -> str | None:
    needs = c.posts.submit(who.principal, post_id)
    return "Sent to a leader for approval" if needs else "Ready to publish: no approval is needed"


def _approve(c: Any, who: SignedIn, post_id: UUID, form: FormReader) -> str | None:
    reason = form.text("reason", "Say why the post may go out", max_length=2000)
    if form.errors:
        return None
    c.posts.approve(who.principal, post_id, reason)
    return "Post approved"


def _return(c: Any, who: SignedIn, post_id: UUID, form: FormReader) -> str | None:
    reason = form.text("return_reason", "Say what the author should change", max_length=2000)
    form.anchors["reason"] = "return_reason"
    if form.errors:
        return None
    c.posts.return_to_author(who.principal, post_id, reason)
    return "Post returned to its author"


def _publish(c: Any, who: SignedIn, post_id: UUID, form: FormReader) -> str | None:
    url = form.text("url", "Enter the address of the published post", max_length=2000)
    reason = form.text("override_reason", max_length=2000)
    form.anchors["reason"] = "override_reason"
    if form.errors:
        return None
    c.posts.publish(who.principal, post_id, url, None, reason or None)
    return "Recorded as published"


def _remove(c: Any, who: SignedIn, post_id: UUID, form: FormReader) -> str | None:
    reason = form.text("removal_reason", "Say why the post was removed", max_length=2000)
    told = form.text("told_audience", "Say what the audience was told about the removal", max_length=2000)
    form.anchors["reason"] = "removal_reason"
    if form.errors:
        return None
    c.posts.remove(who.principal, post_id, reason, told)
    return "Recorded as removed"


def _takedown(c: Any, who: SignedIn, post_id: UUID, form: FormReader) -> str | None:
    name = form.text("parent_name", "Enter the parent's name", max_length=200)
    contact = form.text("contact", max_length=200)
    concern = form.text("concern", "Say what the parent asks and why", max_length=2000)
    if form.errors:
        return None
    c.posts.request_takedown(who.principal, post_id, name, contact or None, concern)
    return "Take-down request recorded: the school's moderators have been told"


# ----- an account's posting rules -----
APPROVER_SLOTS = ("approver_1", "approver_2", "approver_3")


def _rules_context(request: Request[Any, Any, Any], who: SignedIn, account_id: UUID) -> Row:
    c = container(request)
    account = account_detail(request, who, account_id)
    if account["status"] == "closed" or not can(who.principal, Action.ACCOUNT_MANAGE, account["school_id"]):
        raise Forbidden(Action.ACCOUNT_MANAGE.refusal)
    leaders = [p for p in queries.list_staff(c.engine, who.principal, account["school_id"], c.today())
               if "slt" in p["roles"]]
    return {"account": account, "leaders": leaders, "rules": c.posts.posting_rules(account_id)}


@get("/accounts/{account_id:uuid}/posting-rules", sync_to_thread=True, include_in_schema=False)
def posting_rules(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                  account_id: FromPath[UUID]) -> Template:
    context = _rules_context(request, web_principal, account_id)
    rules = context["rules"]
    form = FormReader({}, labels=LABELS)
    form.values["signature_required"] = "yes" if rules.signature_required else ""
    for slot, person_id in zip(APPROVER_SLOTS, rules.approver_ids, strict=False):
        form.values[slot] = str(person_id)
    return page(request, web_principal, "posts/rules.html", form=form, **context)


@post("/accounts/{account_id:uuid}/posting-rules", include_in_schema=False)
async def set_posting_rules(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                            account_id: FromPath[UUID]) -> Template | Redirect:
    data = await request.form()
    return await sync_to_thread(_set_posting_rules, request, web_principal, account_id, data)


def _set_posting_rules(request: Request[Any, Any, Any], who: SignedIn, account_id: UUID,
                       data: Mapping[str, Any]) -> Template | Redirect:
    context = _rules_context(request, who, account_id)
    form = FormReader(data, labels={"approver_ids": "Approvers"})
    signature = data.get("signature_required") == "yes"
    form.values["signature_required"] = "yes" if signature else ""
    options = {"": "No one", **{str(p["id"]): p["display_name"] for p in context["leaders"]}}
    chosen = [form.choice(slot, options, "Choose a leader of the school, or no one") for slot in APPROVER_SLOTS]
    approvers = [UUID(v) for v in chosen if v]
    if len(set(approvers)) != len(approvers):
        form.errors["approver_2"] = "Choose each approver once"
    form.anchors["approver_ids"] = "approver_1"
    if not form.errors:
        with command_errors(form):
            container(request).posts.set_posting_rules(who.principal, account_id,
                                                       PostingRules(signature, tuple(approvers)))
    if form.errors:
        return page(request, who, "posts/rules.html", status=400, form=form, **context)
    return redirect_with_notice(f"/accounts/{account_id}", "Posting rules saved")


# ----- queues -----
@get("/posts/approvals", sync_to_thread=True, include_in_schema=False)
def approvals(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    who = web_principal
    if who.school_id is None or not can(who.principal, Action.POST_READ, who.school_id):
        raise NotFound("school")
    c = container(request)
    rows = post_queries.approval_queue(c.engine, who.principal, c.clock.now(), who.school_id)
    return page(request, who, "posts/approvals.html", posts=rows, yours=[r for r in rows if r["your_turn"]],
                others=[r for r in rows if not r["your_turn"]])


@get("/posts/takedowns", sync_to_thread=True, include_in_schema=False)
def takedowns(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    who = web_principal
    if who.school_id is None or not can(who.principal, Action.POST_REMOVE, who.school_id):
        raise NotFound("school")
    rows = post_queries.open_takedowns(container(request).engine, who.principal, who.school_id)
    return page(request, who, "posts/takedowns.html", takedowns=rows)


ROUTES = [approvals, takedowns, history, posting_rules, set_posting_rules, compose, compose_post, live_checks,
          post_page, edit, edit_post,
          _command("submit", _submit), _command("approve", _approve), _command("return", _return),
          _command("publish", _publish), _command("remove", _remove), _command("takedown", _takedown)]
