"""Posts on school accounts: drafts and their checks, approval, publication recorded with the URL, removal and
parents' take-down requests; the trust's content rules and each account's posting rules (DESIGN §5, issue 24)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from api.routes.common import Caller, container, read_again_if_dropped
from domain.post_checks import Draft, Finding, Media, PostingRules, SharedMaterial
from domain.post_rules import clean_content_rules
from services import post_queries
from services.authorisation import Principal
from services.eventstore import NotFound


class MediaIn(msgspec.Struct, forbid_unknown_fields=True):
    description: str
    has_people: bool = False
    tagged_pupil_refs: list[str] = msgspec.field(default_factory=list)


class SharedIn(msgspec.Struct, forbid_unknown_fields=True):
    description: str
    source: str | None = None
    permission: str | None = None


class DraftIn(msgspec.Struct, forbid_unknown_fields=True):
    text: str
    media: list[MediaIn] = msgspec.field(default_factory=list)
    links: list[str] = msgspec.field(default_factory=list)
    shared: list[SharedIn] = msgspec.field(default_factory=list)
    controversial: bool = False

    def draft(self) -> Draft:
        return Draft(self.text, tuple(Media(m.description, m.has_people, tuple(m.tagged_pupil_refs))
                                      for m in self.media),
                     tuple(self.links), tuple(SharedMaterial(s.description, s.source, s.permission)
                                              for s in self.shared), self.controversial)


class ReasonIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


class PublishIn(msgspec.Struct, forbid_unknown_fields=True):
    url: str
    published_at: datetime | None = None
    reason: str | None = None


class RemoveIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str
    told_audience: str


class TakedownIn(msgspec.Struct, forbid_unknown_fields=True):
    parent_name: str
    concern: str
    contact: str | None = None


class ContentRulesIn(msgspec.Struct, forbid_unknown_fields=True):
    allowed_domains: list[str] = msgspec.field(default_factory=list)
    confidential_words: list[str] = msgspec.field(default_factory=list)
    controversial_words: list[str] = msgspec.field(default_factory=list)
    public_contacts: list[str] = msgspec.field(default_factory=list)


class PostingRulesIn(msgspec.Struct, forbid_unknown_fields=True):
    signature_required: bool = False
    approver_ids: list[UUID] = msgspec.field(default_factory=list)


def findings_out(findings: list[Finding]) -> dict[str, Any]:
    return {"findings": [f.as_dict() for f in findings],
            "blocks": sum(f.severity.value == "blocks" for f in findings),
            "needs_leader": sum(f.severity.value == "needs_leader" for f in findings),
            "advice": sum(f.severity.value == "advice" for f in findings)}


class PostsController(Controller):
    path = "/api/v1"
    tags = ["posts"]

    def _one(self, request: Request[Any, Any, Any], principal: Principal, post_id: UUID) -> dict[str, Any]:
        c = container(request)
        return read_again_if_dropped(lambda: post_queries.get_post(c.engine, principal, post_id, c.clock.now()))

    @post("/accounts/{account_id:uuid}/posts", sync_to_thread=True,
          summary="Draft a post for the account (its runners, the school's leaders and moderators); checked at once")
    def create(self, request: Request[Any, Any, Any], principal: Caller, account_id: FromPath[UUID],
               data: JSONBody[DraftIn]) -> Response[Any]:
        post_id = container(request).posts.draft(principal, account_id, data.draft())
        return Response(self._one(request, principal, post_id), status_code=201)

    @get("/accounts/{account_id:uuid}/posts", sync_to_thread=True,
         summary="The account's posts, newest first; `status`: draft, awaiting_approval, returned, approved, "
                 "published, removed")
    def list(self, request: Request[Any, Any, Any], principal: Caller, account_id: FromPath[UUID],
             status: Annotated[str | None, QueryParameter()] = None) -> dict[str, Any]:
        c = container(request)
        return {"items": post_queries.list_posts(c.engine, principal, account_id, c.clock.now(), status)}

    @post("/accounts/{account_id:uuid}/post-checks", sync_to_thread=True, status_code=200,
          summary="The checks of a draft not saved (nothing is recorded): what the compose page shows as one types")
    def preview(self, request: Request[Any, Any, Any], principal: Caller, account_id: FromPath[UUID],
                data: JSONBody[DraftIn]) -> dict[str, Any]:
        return findings_out(container(request).posts.preview(principal, account_id, data.draft()))

    @staticmethod
    def _posting_rules(request: Request[Any, Any, Any], principal: Principal, account_id: UUID) -> dict[str, Any]:
        c = container(request)
        post_queries.account_for_posts(c.engine, principal, account_id)  # 404 if not the caller's to see
        rules = c.posts.posting_rules(account_id)
        return {"signature_required": rules.signature_required, "approver_ids": list(rules.approver_ids)}

    @staticmethod
    def _content_rules(request: Request[Any, Any, Any], principal: Principal) -> dict[str, Any]:
        rules = container(request).posts.content_rules(principal.trust_id)
        return {"allowed_domains": sorted(rules.allowed_domains), "confidential_words": list(rules.confidential_words),
                "controversial_words": list(rules.controversial_words),
                "public_contacts": sorted(rules.public_contacts)}

    @get("/accounts/{account_id:uuid}/posting-rules", sync_to_thread=True,
         summary="The account's posting rules: signature required, approvers of every post in order")
    def posting_rules(self, request: Request[Any, Any, Any], principal: Caller,
                      account_id: FromPath[UUID]) -> dict[str, Any]:
        return self._posting_rules(request, principal, account_id)

    @put("/accounts/{account_id:uuid}/posting-rules", sync_to_thread=True,
         summary="Set the account's posting rules (the school's leaders and moderators)")
    def set_posting_rules(self, request: Request[Any, Any, Any], principal: Caller, account_id: FromPath[UUID],
                          data: JSONBody[PostingRulesIn]) -> dict[str, Any]:
        container(request).posts.set_posting_rules(principal, account_id,
                                                   PostingRules(data.signature_required, tuple(data.approver_ids)))
        return self._posting_rules(request, principal, account_id)

    @get("/trust/content-rules", sync_to_thread=True, summary="The trust's content rules")
    def content_rules(self, request: Request[Any, Any, Any], principal: Caller) -> dict[str, Any]:
        return self._content_rules(request, principal)

    @put("/trust/content-rules", sync_to_thread=True,
         summary="Set the trust's content rules: allowed link domains, confidential markers, controversial "
                 "triggers, the schools' public contact details (the trust team)")
    def set_content_rules(self, request: Request[Any, Any, Any], principal: Caller,
                          data: JSONBody[ContentRulesIn]) -> dict[str, Any]:
        rules = clean_content_rules(data.allowed_domains, data.confidential_words, data.controversial_words,
                                    data.public_contacts)
        container(request).posts.set_content_rules(principal, rules)
        return self._content_rules(request, principal)

    @get("/posts/{post_id:uuid}", sync_to_thread=True, summary="One post with its findings and take-down requests")
    def one(self, request: Request[Any, Any, Any], principal: Caller, post_id: FromPath[UUID]) -> dict[str, Any]:
        return self._one(request, principal, post_id)

    @put("/posts/{post_id:uuid}", sync_to_thread=True,
         summary="Revise the draft (an approval given or asked for no longer stands)")
    def revise(self, request: Request[Any, Any, Any], principal: Caller, post_id: FromPath[UUID],
               data: JSONBody[DraftIn]) -> dict[str, Any]:
        container(request).posts.revise(principal, post_id, data.draft())
        return self._one(request, principal, post_id)

    @post("/posts/{post_id:uuid}/checks", sync_to_thread=True, status_code=200,
          summary="Run the checks on the post as it stands and record them")
    def checks(self, request: Request[Any, Any, Any], principal: Caller, post_id: FromPath[UUID]) -> dict[str, Any]:
        return findings_out(container(request).posts.check(principal, post_id))

    @post("/posts/{post_id:uuid}/submit", sync_to_thread=True, status_code=200,
          summary="Submit the post: refused while a finding blocks it; sent for approval where it needs one")
    def submit(self, request: Request[Any, Any, Any], principal: Caller, post_id: FromPath[UUID]) -> dict[str, Any]:
        container(request).posts.submit(principal, post_id)
        return self._one(request, principal, post_id)

    @post("/posts/{post_id:uuid}/approve", sync_to_thread=True, status_code=200,
          summary="Approve the post with a reason (a leader of the school who is not its author; the account's "
                  "approvers in order)")
    def approve(self, request: Request[Any, Any, Any], principal: Caller, post_id: FromPath[UUID],
                data: JSONBody[ReasonIn]) -> dict[str, Any]:
        container(request).posts.approve(principal, post_id, data.reason)
        return self._one(request, principal, post_id)

    @post("/posts/{post_id:uuid}/return", sync_to_thread=True, status_code=200,
          summary="Return the post to its author with what to change")
    def return_(self, request: Request[Any, Any, Any], principal: Caller, post_id: FromPath[UUID],
                data: JSONBody[ReasonIn]) -> dict[str, Any]:
        container(request).posts.return_to_author(principal, post_id, data.reason)
        return self._one(request, principal, post_id)

    @post("/posts/{post_id:uuid}/publish", sync_to_thread=True, status_code=200,
          summary="Record that the post was published on the platform, with its URL; overriding advice needs a "
                  "reason")
    def publish(self, request: Request[Any, Any, Any], principal: Caller, post_id: FromPath[UUID],
                data: JSONBody[PublishIn]) -> dict[str, Any]:
        container(request).posts.publish(principal, post_id, data.url, data.published_at, data.reason)
        return self._one(request, principal, post_id)

    @post("/posts/{post_id:uuid}/remove", sync_to_thread=True, status_code=200,
          summary="Record that the post was removed, why, and what the audience was told")
    def remove(self, request: Request[Any, Any, Any], principal: Caller, post_id: FromPath[UUID],
               data: JSONBody[RemoveIn]) -> dict[str, Any]:
        container(request).posts.remove(principal, post_id, data.reason, data.told_audience)
        return self._one(request, principal, post_id)

    @post("/posts/{post_id:uuid}/takedown-requests", sync_to_thread=True,
          summary="Record a parent's request to take the post down: it is listed for the school's moderators")
    def takedown(self, request: Request[Any, Any, Any], principal: Caller, post_id: FromPath[UUID],
                 data: JSONBody[TakedownIn]) -> Response[Any]:
        request_id = container(request).posts.request_takedown(principal, post_id, data.parent_name, data.contact,
                                                               data.concern)
        return Response({"id": request_id, "post_id": post_id, "status": "open"}, status_code=201)

    @get("/schools/{school_id:uuid}/posts/awaiting-approval", sync_to_thread=True,
         summary="The school's posts awaiting approval, oldest first")
    def queue(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID]) -> dict[str, Any]:
        c = container(request)
        return {"items": post_queries.approval_queue(c.engine, principal, c.clock.now(), school_id)}

    @get("/schools/{school_id:uuid}/takedown-requests", sync_to_thread=True,
         summary="Parents' take-down requests not yet settled (the school's moderators and leaders)")
    def takedowns(self, request: Request[Any, Any, Any], principal: Caller,
                  school_id: FromPath[UUID]) -> dict[str, Any]:
        c = container(request)
        if school_id not in principal.visible_school_ids:
            raise NotFound("school")
        return {"items": post_queries.open_takedowns(c.engine, principal, school_id)}
