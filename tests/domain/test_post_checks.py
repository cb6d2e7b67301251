"""The pre-publication checks alone: each test names the policy clause it enforces."""

from __future__ import annotations

import pytest

from domain.post_checks import (
    Clause,
    ContentRules,
    Draft,
    Media,
    PostingRules,
    PupilIndex,
    RegisterPupil,
    Severity,
    SharedMaterial,
    check_post,
    find_pupil_names,
    has_signature,
)

REGISTER = PupilIndex.of([
    RegisterPupil("P1", "Amy Jane O'Neil", consent=True, no_publish=False),
    RegisterPupil("P2", "Ben Smith-Jones", consent=False, no_publish=False),
    RegisterPupil("P3", "Cara Lee", consent=False, no_publish=True),
    RegisterPupil("P4", "Dev Patel", consent=True, no_publish=False),
])
RULES = ContentRules(allowed_domains=frozenset({"oakfield.sch.uk", "gov.uk"}),
                     controversial_words=("strike", "ofsted"),
                     public_contacts=frozenset({"+441632960000", "office@oakfield.sch.uk"}))
PLAIN = PostingRules()


def findings(text: str, **kw: object) -> list[tuple[str, Severity, Clause]]:
    posting = kw.pop("posting", PLAIN)
    assert isinstance(posting, PostingRules)
    draft = Draft(text, **kw)  # type: ignore[arg-type]
    return [(f.code, f.severity, f.clause) for f in check_post(draft, REGISTER, RULES, posting)]


def test_a_clean_post_has_no_findings() -> None:
    assert findings("Year 4 loved the science museum today. Thank you to all our helpers!") == []


@pytest.mark.parametrize("number", ["07700 900123", "07700900123", "+44 7700 900123", "+447700900123",
                                    "07911 123456", "(0161) 496 0123"])
def test_contact_details_clause_a_phone_number_blocks(number: str) -> None:
    assert findings(f"Any questions, text me on {number} tonight") == [
        ("phone_number", Severity.BLOCKS, Clause.CONTACT_DETAILS)]


def test_contact_details_clause_the_finding_carries_the_span_of_the_number() -> None:
    text = "Text me on 07700 900123 tonight"
    [f] = check_post(Draft(text), REGISTER, RULES, PLAIN)
    assert (f.start, f.end) == (11, 23) and text[f.start:f.end] == "07700 900123"


def test_contact_details_clause_years_prices_and_references_are_not_phone_numbers() -> None:
    assert findings("Sports day 2024 raised 12345 pounds, ref 123456, at 10:30 on 12/03/2024") == []


def test_contact_details_clause_the_schools_own_office_number_and_address_are_not_personal() -> None:
    assert findings("Call the office on 01632 960000 or write to office@oakfield.sch.uk") == []


def test_contact_details_clause_an_email_address_blocks() -> None:
    assert findings("Send photos to j.bloggs@gmail.com") == [
        ("email_address", Severity.BLOCKS, Clause.CONTACT_DETAILS)]


def test_contact_details_clause_a_postcode_next_to_a_pupils_name_blocks() -> None:
    out = findings("Happy birthday Dev Patel of 4 Elm Road, M1 1AE!")
    assert ("home_postcode", Severity.BLOCKS, Clause.CONTACT_DETAILS) in out


def test_contact_details_clause_a_postcode_with_no_pupil_near_is_not_a_finding() -> None:
    assert findings("Our fair is at the village hall, M1 1AE, on Saturday.") == []


def test_no_publish_clause_a_photo_tagging_a_pupil_on_the_no_publish_list_blocks() -> None:
    out = findings("Sports day", media=(Media("Relay race", True, ("P3",)),))
    assert ("pupil_no_publish", Severity.BLOCKS, Clause.NO_PUBLISH_LIST) in out


def test_image_consent_clause_a_photo_tagging_a_pupil_without_consent_blocks() -> None:
    out = findings("Sports day", media=(Media("Relay race", True, ("P2",)),))
    assert ("pupil_no_consent", Severity.BLOCKS, Clause.IMAGE_CONSENT) in out


def test_image_consent_clause_a_tag_not_on_the_register_blocks() -> None:
    out = findings("Sports day", media=(Media("Relay race", True, ("P99",)),))
    assert ("pupil_not_on_register", Severity.BLOCKS, Clause.IMAGE_CONSENT) in out


def test_image_consent_clause_a_pupil_named_in_full_without_consent_blocks() -> None:
    assert findings("Well done Ben Smith-Jones!") == [("pupil_no_consent", Severity.BLOCKS, Clause.IMAGE_CONSENT)]


@pytest.mark.parametrize("text", ["BEN SMITH-JONES", "ben smithjones", "Ben Smith Jones.", "Ben S.", "Ben S"])
def test_image_consent_clause_names_match_whatever_the_case_punctuation_or_initial(text: str) -> None:
    assert ("pupil_no_consent", Severity.BLOCKS, Clause.IMAGE_CONSENT) in findings(f"Well done {text} today")


def test_no_publish_clause_firstname_initial_of_a_no_publish_pupil_blocks() -> None:
    assert findings("Star of the week: Cara L.") == [("pupil_no_publish", Severity.BLOCKS, Clause.NO_PUBLISH_LIST)]


def test_image_consent_clause_a_middle_name_may_be_left_out_and_apostrophes_do_not_matter() -> None:
    matches = find_pupil_names("amy oneil and Amy Jane O'Neil", REGISTER)
    assert [m.pupil.pupil_ref for m in matches] == ["P1", "P1"]


def test_image_consent_clause_a_first_name_alone_or_a_lower_case_letter_is_not_a_name() -> None:
    assert find_pupil_names("Ben scored and Ben s said so", REGISTER) == []


def test_image_consent_clause_a_consented_pupil_named_in_full_is_advice() -> None:
    assert findings("Well done Dev Patel") == [("pupil_full_name", Severity.ADVICE, Clause.IMAGE_CONSENT)]


def test_tagging_clause_media_with_people_gets_the_reminder() -> None:
    assert findings("Our trip", media=(Media("Class photo", True),)) == [
        ("tagging_reminder", Severity.ADVICE, Clause.TAGGING)]


def test_tagging_clause_media_without_people_gets_no_reminder() -> None:
    assert findings("Our garden", media=(Media("Sunflowers", False),)) == []


def test_shared_material_clause_without_source_or_permission_blocks() -> None:
    out = check_post(Draft("A lovely poem", shared=(SharedMaterial("Poem", "The Poetry Trust", None),)),
                     REGISTER, RULES, PLAIN)
    assert [(f.code, f.severity, f.clause, f.field) for f in out] == [
        ("shared_unattributed", Severity.BLOCKS, Clause.SHARED_MATERIAL, "shared[0]")]
    assert "permission" in out[0].message and "source" not in out[0].message.split("recorded")[1]


def test_shared_material_clause_with_source_and_permission_passes() -> None:
    assert findings("A poem", shared=(SharedMaterial("Poem", "The Poetry Trust", "E-mail of 3 March"),)) == []


def test_links_clause_a_link_outside_the_allow_list_is_advice() -> None:
    assert findings("See https://example.com/news and https://www.gov.uk/x",
                    links=("https://news.oakfield.sch.uk/a", "http://bit.ly/abc")) == [
        ("link_not_allowed", Severity.ADVICE, Clause.LINKS), ("link_not_allowed", Severity.ADVICE, Clause.LINKS)]


def test_confidential_clause_a_trust_marker_blocks() -> None:
    assert findings("Staffing plans (Confidential) for next year") == [
        ("confidential_marker", Severity.BLOCKS, Clause.CONFIDENTIAL)]


def test_who_is_posting_clause_a_missing_signature_blocks_where_the_account_asks_for_one() -> None:
    signed = PostingRules(signature_required=True)
    assert findings("Great day!", posting=signed) == [("no_signature", Severity.BLOCKS, Clause.WHO_IS_POSTING)]
    assert findings("Great day!\n- Mrs Patel", posting=signed) == []
    assert findings("Great day!") == []
    assert has_signature("Great day! ^JP") and not has_signature("Great day!")


def test_controversial_clause_a_trust_trigger_needs_a_leader() -> None:
    assert findings("Our response to the Ofsted report") == [
        ("controversial_trigger", Severity.NEEDS_LEADER, Clause.CONTROVERSIAL)]


def test_controversial_clause_the_authors_flag_needs_a_leader() -> None:
    assert findings("Changes to the uniform", controversial=True) == [
        ("flagged_controversial", Severity.NEEDS_LEADER, Clause.CONTROVERSIAL)]
