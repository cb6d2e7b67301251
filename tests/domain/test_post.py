"""The post's lifecycle alone: drafted, checked, approved by a leader who is not the author, recorded as published
with its URL, removed with the reason told to the audience, and parents' take-down requests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from domain.errors import InvalidInput, InvalidTransition, RuleRefused
from domain.events import Actor
from domain.post import Post, PostApproved, PostPublished, PostRemoved, PostStatus, TakedownRequested
from domain.post_checks import ContentRules, Draft, Finding, PostingRules, PupilIndex, RegisterPupil, check_post

AT = datetime(2026, 3, 10, 10, tzinfo=UTC)
ACTOR = Actor.system("test")
TRUST, SCHOOL, ACCOUNT = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
AUTHOR, LEADER, OTHER_LEADER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
REGISTER = PupilIndex.of([RegisterPupil("P1", "Cara Lee", consent=False, no_publish=True)])
RULES = ContentRules(controversial_words=("strike",))
PLAIN = PostingRules()
URL = "https://www.facebook.com/oakfield/posts/1"


def post(text: str, controversial: bool = False) -> Post:
    return Post.start(uuid.uuid4(), TRUST, SCHOOL, ACCOUNT, AUTHOR, Draft(text, controversial=controversial),
                      ACTOR, AT)


def status(p: Post) -> PostStatus:
    return p.status


def checks(p: Post, posting: PostingRules = PLAIN) -> list[Finding]:
    return check_post(p.draft, REGISTER, RULES, posting)


def test_a_draft_needs_text() -> None:
    with pytest.raises(InvalidInput) as e:
        post("  ")
    assert [x.field for x in e.value.errors] == ["text"]


def test_contact_details_clause_a_draft_with_a_mobile_number_cannot_be_submitted_or_published() -> None:
    p = post("Text me on 07700 900123")
    with pytest.raises(RuleRefused):
        p.submit(checks(p), PLAIN, ACTOR, AT)
    with pytest.raises(RuleRefused) as e:
        p.publish(URL, AUTHOR, AT, checks(p), PLAIN, None, ACTOR, AT)
    assert "phone number" in e.value.conditions[0]


def test_a_plain_post_needs_no_approval_and_publishing_records_the_url_who_and_when() -> None:
    p = post("Lovely assembly today")
    assert p.submit(checks(p), PLAIN, ACTOR, AT) is False
    p.publish(URL, AUTHOR, AT, checks(p), PLAIN, None, ACTOR, AT)
    published = [e for e in p.collect_events() if isinstance(e, PostPublished)]
    assert status(p) is PostStatus.PUBLISHED and p.url == URL
    assert (published[0].url, published[0].published_by, published[0].published_at) == (URL, AUTHOR, AT)


def test_the_publish_url_is_required() -> None:
    p = post("Lovely assembly today")
    with pytest.raises(InvalidInput) as e:
        p.publish("not a url", AUTHOR, AT, checks(p), PLAIN, None, ACTOR, AT)
    assert [x.field for x in e.value.errors] == ["url"]


def test_links_clause_publishing_over_advice_needs_a_reason_and_records_what_was_overridden() -> None:
    p = post("See https://example.com")
    with pytest.raises(InvalidInput) as e:
        p.publish(URL, AUTHOR, AT, checks(p), PLAIN, None, ACTOR, AT)
    assert [x.field for x in e.value.errors] == ["reason"]
    p.publish(URL, AUTHOR, AT, checks(p), PLAIN, "the museum's own site", ACTOR, AT)
    [event] = [e for e in p.collect_events() if isinstance(e, PostPublished)]
    assert event.overridden == ["link_not_allowed"] and event.reason == "the museum's own site"


@pytest.mark.parametrize("text,flag", [("Our view on the strike", False), ("Uniform changes", True)])
def test_controversial_clause_cannot_be_published_until_a_leader_not_its_author_approves(text: str,
                                                                                           flag: bool) -> None:
    p = post(text, controversial=flag)
    with pytest.raises(RuleRefused) as refused:
        p.publish(URL, AUTHOR, AT, checks(p), PLAIN, None, ACTOR, AT)
    assert any("leader" in c for c in refused.value.conditions)
    assert p.submit(checks(p), PLAIN, ACTOR, AT) is True
    assert status(p) is PostStatus.AWAITING_APPROVAL
    with pytest.raises(RuleRefused) as own:
        p.approve(AUTHOR, True, "fine", ACTOR, AT)
    assert own.value.conditions == ["the author of a post cannot approve it"]
    with pytest.raises(RuleRefused):
        p.approve(OTHER_LEADER, False, "fine", ACTOR, AT)  # not a leader
    with pytest.raises(InvalidInput):
        p.approve(LEADER, True, " ", ACTOR, AT)  # an approval carries a reason
    p.approve(LEADER, True, "balanced and factual", ACTOR, AT)
    assert status(p) is PostStatus.APPROVED
    p.publish(URL, AUTHOR, AT, checks(p), PLAIN, None, ACTOR, AT)
    assert status(p) is PostStatus.PUBLISHED


def test_a_revision_after_approval_needs_approval_again() -> None:
    p = post("Our view on the strike")
    p.submit(checks(p), PLAIN, ACTOR, AT)
    p.approve(LEADER, True, "ok", ACTOR, AT)
    p.revise(Draft("Our new view on the strike"), ACTOR, AT)
    assert status(p) is PostStatus.DRAFT
    with pytest.raises(RuleRefused):
        p.publish(URL, AUTHOR, AT, checks(p), PLAIN, None, ACTOR, AT)


def test_an_account_can_require_every_post_approved_by_its_approvers_in_order() -> None:
    posting = PostingRules(approver_ids=(LEADER, OTHER_LEADER))
    p = post("Lovely assembly today")
    assert p.submit(checks(p, posting), posting, ACTOR, AT) is True
    with pytest.raises(RuleRefused) as e:
        p.approve(OTHER_LEADER, True, "ok", ACTOR, AT)
    assert "in order" in e.value.conditions[0]
    p.approve(LEADER, True, "ok", ACTOR, AT)
    assert status(p) is PostStatus.AWAITING_APPROVAL and p.next_approver == OTHER_LEADER
    p.approve(OTHER_LEADER, True, "ok too", ACTOR, AT)
    assert status(p) is PostStatus.APPROVED
    assert [e.reason for e in p.collect_events() if isinstance(e, PostApproved)] == ["ok", "ok too"]


def test_a_leader_returns_a_post_with_a_reason_and_the_author_can_revise_it() -> None:
    p = post("Our view on the strike")
    p.submit(checks(p), PLAIN, ACTOR, AT)
    with pytest.raises(InvalidInput):
        p.return_to_author(LEADER, "", ACTOR, AT)
    p.return_to_author(LEADER, "Too one-sided", ACTOR, AT)
    assert status(p) is PostStatus.RETURNED
    p.revise(Draft("Lovely assembly today"), ACTOR, AT)
    p.publish(URL, AUTHOR, AT, checks(p), PLAIN, None, ACTOR, AT)


def test_a_removal_records_the_reason_told_to_the_audience() -> None:
    p = post("Lovely assembly today")
    with pytest.raises(InvalidTransition):
        p.remove(AUTHOR, "x", "y", ACTOR, AT)
    p.publish(URL, AUTHOR, AT, checks(p), PLAIN, None, ACTOR, AT)
    with pytest.raises(InvalidInput) as e:
        p.remove(LEADER, "", None, ACTOR, AT)
    assert [x.field for x in e.value.errors] == ["reason", "told_audience"]
    p.remove(LEADER, "a pupil without consent was visible", "We have removed a post to protect a pupil's privacy.",
             ACTOR, AT)
    [removed] = [e for e in p.collect_events() if isinstance(e, PostRemoved)]
    assert removed.told_audience == "We have removed a post to protect a pupil's privacy."
    assert status(p) is PostStatus.REMOVED
    with pytest.raises(InvalidTransition):
        p.revise(Draft("again"), ACTOR, AT)


def test_a_parents_takedown_request_is_recorded_against_a_published_post() -> None:
    p = post("Lovely assembly today")
    request = uuid.uuid4()
    with pytest.raises(InvalidTransition):
        p.request_takedown(request, "Mrs Lee", None, "My daughter is in the photo", ACTOR, AT)
    p.publish(URL, AUTHOR, AT, checks(p), PLAIN, None, ACTOR, AT)
    with pytest.raises(InvalidInput) as e:
        p.request_takedown(request, "", None, "", ACTOR, AT)
    assert [x.field for x in e.value.errors] == ["parent_name", "concern"]
    p.request_takedown(request, "Mrs Lee", "01632 960001", "My daughter is in the photo", ACTOR, AT)
    assert [t.parent_name for t in p.takedowns] == ["Mrs Lee"]
    assert any(isinstance(e, TakedownRequested) for e in p.collect_events())
