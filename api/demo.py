"""Demo data: a trust with three schools (England, Scotland, Northern Ireland), staff with and without
training, two policy versions, applications in every state, and two incidents at Oakfield (one referred to the
police, one awaiting assessment). `--scale N` adds N synthetic schools in bulk."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from sqlalchemy import select, text

from api.container import Container
from domain.application import AccountApplication, BusinessCase
from domain.credentials import Credentials
from domain.events import Actor, ActorKind, Aggregate
from domain.incident import Report
from domain.person import Person
from domain.post_checks import ContentRules, Draft, Media
from domain.pupil import PupilRecord
from domain.school import School
from domain.sla import LONDON, due_at
from domain.trust import Trust
from domain.values import Nation, Role
from infra.clock import SettableClock
from services import readmodel as rm
from services.authorisation import Principal
from services.directory import system_actor
from services.identity import principal_for_person
from services.ids import new_id

DEMO_TRUST = "Oakfield Learning Trust"


def demo_exists(c: Container) -> bool:
    with c.engine.connect() as conn:
        return conn.execute(select(rm.trusts.c.id).where(rm.trusts.c.name == DEMO_TRUST)).first() is not None


def _p(c: Container, person_id: UUID) -> Principal:
    p = principal_for_person(c.engine, person_id, "demo")
    assert p is not None
    return p


def seed_demo(c: Container) -> UUID:
    """Seeds the story-shaped demo trust through the real services (every event is attributable)."""
    real_clock = c.clock
    start = real_clock.now() - timedelta(days=60)
    clock = SettableClock(start)
    for app in c.contexts:
        app.clock = clock
    try:
        trust_id, admin_id = c.directory.register_trust(DEMO_TRUST, "Alex Morgan", "alex.morgan@oakfield.example",
                                                        system_actor("demo seed"))
        admin = _p(c, admin_id)
        v1 = c.directory.publish_policy(admin, "2025.1", "Social media policy, first trust-wide version")
        schools = {}
        for name, urn, nation in (("Oakfield Primary School", "100001", "england"),
                                  ("Glenmore High School", "5234567", "scotland"),
                                  ("Lough View College", "3456789", "northern_ireland")):
            schools[name] = c.directory.add_school(admin, name, urn, nation)
            admin = c.refresh_principal(admin)
        clock.advance(timedelta(days=1))
        staff: dict[str, dict[str, UUID]] = {}
        people = {
            "Oakfield Primary School": [("Priya Shah", "slt"), ("Tom Baker", "moderator"), ("Grace Hill", "staff"),
                                        ("Owen Price", "staff"), ("Lucy Ward", "staff"), ("Sam Patel", "volunteer")],
            "Glenmore High School": [("Morag Campbell", "slt"), ("Euan Fraser", "moderator"),
                                     ("Isla Ross", "staff"), ("Callum Reid", "staff")],
            "Lough View College": [("Siobhan Kelly", "slt"), ("Ciaran Byrne", "moderator"),
                                   ("Aoife Murphy", "staff"), ("Declan Walsh", "staff")],
        }
        for school, members in people.items():
            staff[school] = {}
            for name, role in members:
                email = name.lower().replace(" ", ".") + "@oakfield.example"
                staff[school][name] = c.directory.add_staff(admin, schools[school], name, email, [role]).person_id
        # Executive head: SLT at Oakfield as well as Glenmore.
        c.directory.add_staff(admin, schools["Oakfield Primary School"], "Morag Campbell",
                              "morag.campbell@oakfield.example", ["slt"])
        today = clock.now().date()
        untrained = {"Lucy Ward", "Callum Reid", "Declan Walsh"}
        expired = {"Owen Price"}
        for members in staff.values():
            for name, pid in members.items():
                if name in untrained:
                    continue
                completed = today - timedelta(days=500 if name in expired else 60)
                c.directory.record_training(admin, pid, "Safe use of social media for school staff", completed, None)
                c.directory.acknowledge_policy(_p(c, pid), pid, v1)
        c.directory.declare_personal_account(_p(c, staff["Oakfield Primary School"]["Grace Hill"]),
                                             staff["Oakfield Primary School"]["Grace Hill"], "instagram",
                                             "@gracehill_teaches", True, True)
        clock.advance(timedelta(days=10))
        v2 = c.directory.publish_policy(admin, "2025.2", "Adds the rules on tagging pupils in images")
        for school in ("Oakfield Primary School", "Glenmore High School"):
            for name in ("Tom Baker", "Grace Hill", "Sam Patel", "Euan Fraser", "Isla Ross"):
                if name in staff[school]:
                    pid = staff[school][name]
                    c.directory.acknowledge_policy(_p(c, pid), pid, v2)

        def apply(school: str, applicant: str, runners: list[str], platform: str, handle: str, aim: str) -> UUID:
            pid = staff[school][applicant]
            case = BusinessCase(aim, "Parents and carers of current pupils", "School newsletter and website",
                                tuple(staff[school][r] for r in runners), "open", platform, handle)
            return c.applications.submit(_p(c, pid), schools[school], case)

        oak, glen, lough = "Oakfield Primary School", "Glenmore High School", "Lough View College"
        clock.advance(timedelta(days=2))
        approved = apply(oak, "Grace Hill", ["Grace Hill", "Tom Baker"], "facebook", "OakfieldPrimary",
                         "Celebrate pupils' work and share school news")
        c.applications.approve(_p(c, staff[oak]["Priya Shah"]), approved, "Well-argued case; both runners trained")
        rejected = apply(oak, "Owen Price", ["Owen Price", "Lucy Ward"], "tiktok", "oakfield_sport",
                         "Short videos of sports fixtures")
        c.applications.reject(_p(c, staff[oak]["Priya Shah"]), rejected,
                              "Video of pupils on TikTok is not covered by our image consent")
        withdrawn = apply(glen, "Isla Ross", ["Isla Ross", "Euan Fraser"], "x", "GlenmoreScience",
                          "Science department news")
        c.applications.withdraw(_p(c, staff[glen]["Isla Ross"]), withdrawn, "Merging into the school account")
        clock.advance(timedelta(days=5))
        apply(oak, "Sam Patel", ["Sam Patel", "Grace Hill"], "facebook", "FriendsOfOakfield",
              "Friends of Oakfield fundraising page")
        clock.advance(timedelta(days=4))
        apply(glen, "Euan Fraser", ["Euan Fraser", "Callum Reid"], "instagram", "glenmore_arts",
              "Showcase art and drama productions")
        apply(lough, "Aoife Murphy", ["Aoife Murphy", "Ciaran Byrne"], "facebook", "LoughViewCollege",
              "College news for families")
        # Accounts: the approved Facebook page, with a third runner and demo credentials; daily checks.
        moderator = _p(c, staff[oak]["Tom Baker"])
        account = c.accounts.create(moderator, schools[oak], approved, staff[oak]["Grace Hill"],
                                    "https://www.facebook.com/OakfieldPrimary")
        c.accounts.add_runner(moderator, account, staff[oak]["Sam Patel"])
        c.accounts.store_credentials(moderator, account, Credentials(
            "oakfield.social@oakfield.example", "demo-only-Passw0rd!", "it@oakfield.example", "020 7946 0000",
            ["DEMO-1111", "DEMO-2222"], "Demo credentials: not a real account"), "first credentials")
        for _ in range(5):
            clock.advance(timedelta(days=1))
            c.accounts.record_check(_p(c, staff[oak]["Grace Hill"]), account, "No new comments")
        _seed_police_incident(c, clock, schools[oak], account, staff[oak])
        # Grace Hill (the lead) is leaving at the end of term: a handover is pending.
        leaving = (clock.now() + timedelta(days=14)).date()
        c.accounts.record_departure(moderator, staff[oak]["Grace Hill"], leaving, "Moving to another trust")
        _seed_inbox_month(c, clock, real_clock.now(), schools[oak], account, moderator,
                          _p(c, staff[oak]["Grace Hill"]))
        clock.set(real_clock.now() - timedelta(hours=1))  # reported an hour ago: awaiting assessment, not overdue
        c.incidents.report(_p(c, staff[oak]["Sam Patel"]), schools[oak], Report(
            "Photo of pupils shared in a parents' group", "compromising_image",
            "A parent shared our sports day photo, with two pupils' faces and names, in a public Facebook group. "
            "One of the pupils is on the no-publish list.", clock.now() - timedelta(hours=3),
            [{"kind": "parent", "name": "Parent in Year 4"}], account, "https://www.facebook.com/groups/example/1"))
        _seed_posts(c, clock, admin, schools[oak], account, staff[oak])
        return trust_id
    finally:
        for app in c.contexts:
            app.clock = real_clock


def _seed_posts(c: Container, clock: SettableClock, admin: Principal, school_id: UUID, account: UUID,
                staff: dict[str, UUID]) -> None:
    """Posts on the Facebook page (issue 24): the pupils' register with consent and the no-publish list, the
    trust's content rules, a published post with a parent's take-down request, a removed one, a controversial one
    awaiting Priya's approval and a draft the checks stop."""
    c.pupils.upsert(admin, school_id, [
        PupilRecord("OAK-0412", "Cara Lee", "Year 4", False, False, False, True),
        PupilRecord("OAK-0413", "Ben Smith-Jones", "Year 4", False, False, False, False),
        PupilRecord("OAK-0414", "Amy O'Neil", "Year 4", True, True, True, False),
        PupilRecord("OAK-0415", "Dev Patel", "Year 5", True, True, False, False),
    ])
    c.posts.set_content_rules(admin, ContentRules(
        allowed_domains=frozenset({"oakfield.sch.uk", "gov.uk", "bbc.co.uk"}),
        confidential_words=("confidential", "not for publication", "commercially sensitive"),
        controversial_words=("strike", "ofsted", "consultation", "redundancy"),
        public_contacts=frozenset({"+442079460000", "office@oakfield.sch.uk"})))
    grace, sam = _p(c, staff["Grace Hill"]), _p(c, staff["Sam Patel"])
    tom = _p(c, staff["Tom Baker"])
    clock.advance(timedelta(minutes=5))
    museum = c.posts.draft(grace, account, Draft(
        "Year 4 loved their trip to the science museum today! Amy was first to the top of the climbing wall.\n"
        "- Mrs Hill", (Media("Class photo outside the museum", True, ("OAK-0414",)),)))
    c.posts.publish(grace, museum, "https://www.facebook.com/OakfieldPrimary/posts/1001", None,
                    "Parents asked to see the class photo; tagging is off on the page")
    clock.advance(timedelta(minutes=5))
    c.posts.request_takedown(tom, museum, "Mrs Lee", "by phone, via the office",
                             "Her daughter is in the background of the class photo")
    sports = c.posts.draft(sam, account, Draft("Sports day is on Friday: bring a water bottle and a sun hat.\n- Sam"))
    c.posts.publish(sam, sports, "https://www.facebook.com/OakfieldPrimary/posts/1002", None, None)
    c.posts.remove(tom, sports, "The date changed after the post went out",
                   "We have removed our sports day post: the date has changed. A new post follows.")
    clock.advance(timedelta(minutes=5))
    consultation = c.posts.draft(sam, account, Draft(
        "Our consultation on the new school day closes next week. Tell us what you think.\n- Sam",
        controversial=True))
    c.posts.submit(sam, consultation)
    c.posts.draft(grace, account, Draft("Well done Cara Lee for her reading award! Any questions, text me on "
                                        "07700 900123.\n- Mrs Hill"))


def _seed_police_incident(c: Container, clock: SettableClock, school_id: UUID, account: UUID,
                          staff: dict[str, UUID]) -> None:
    """An incident that went to the police: threats to a teacher under a post on the school's page, assessed,
    hidden and blocked (with what the audience was told), the platform involved, a crime reference."""
    reporter, head, moderator = (_p(c, staff[n]) for n in ("Grace Hill", "Priya Shah", "Tom Baker"))
    incident = c.incidents.report(reporter, school_id, Report(
        "Threats to a teacher under the sports day post", "harassing",
        "Three comments from one profile threaten Mr Baker by name and say where he lives.",
        clock.now() - timedelta(hours=2), [{"kind": "staff", "name": "Tom Baker"},
                                           {"kind": "external", "name": "Profile 'oakfield_truth'"}],
        account, "https://www.facebook.com/OakfieldPrimary/posts/demo"))
    c.incidents.add_evidence(reporter, incident, "comments-captured.txt", "text/plain",
                             b"Three comments captured from the sports day post (demo evidence).\n",
                             "The comments as they appeared, with their times")
    clock.advance(timedelta(hours=1))
    c.incidents.assess(head, incident, "high", True, "Comments hidden; DSL and Mr Baker informed",
                       (staff["Tom Baker"],))
    c.incidents.take_moderation_action(moderator, incident, "hide", "three comments by oakfield_truth",
                                       "We have hidden comments that threatened a member of staff. Threats are "
                                       "never acceptable on our page.")
    c.incidents.take_moderation_action(moderator, incident, "block", "oakfield_truth",
                                       "We have blocked an account that posted threats.")
    c.incidents.involve_agency(head, incident, "platform", "FB-REPORT-DEMO-1", None, "Reported the profile")
    clock.advance(timedelta(days=1))
    c.incidents.refer_to_police(head, incident, "CR/104233/26", "PC 4471 Evans", clock.now().date())


def _seed_inbox_month(c: Container, clock: SettableClock, until: datetime, school_id: UUID, account: UUID,
                      moderator: Principal, runner: Principal, seed: int = 11) -> None:
    """A realistic month of comments, queries and complaints on the account: most answered within hours,
    some late, a few still open; daily monitoring checks with a couple of missed days; some mentions."""
    rnd = random.Random(seed)
    first_day = (until - timedelta(days=30)).date()
    actions: list[tuple[datetime, int, Callable[[], object]]] = []
    authors = ["@parent_of_year3", "@oakfield_gran", "@local_news", "@coach_dave", "@ex_pupil", "@pta_chair"]
    texts = {"comment": ["Lovely photos from sports day!", "Well done to the choir"],
             "query": ["When does the autumn term start?", "Is the school open on the INSET day?"],
             "complaint": ["The car park was chaos again this morning", "Why was the trip cancelled?"],
             "message": ["Can someone call me about my child's place?"]}
    received: dict[int, UUID] = {}
    for d in range(30):
        day = first_day + timedelta(days=d)
        if day.weekday() != 5 or d % 3:  # a check nearly every day, a few Saturdays missed
            at = datetime.combine(day, time(8, rnd.randint(0, 59)), tzinfo=UTC)
            actions.append((at, 0, lambda: c.accounts.record_check(runner, account, "Checked comments")))
        for _ in range(rnd.randint(1, 4)):
            kind = rnd.choice(["comment", "comment", "query", "query", "complaint", "message"])
            at = datetime.combine(day, time(rnd.randint(7, 21), rnd.randint(0, 59)), tzinfo=UTC)

            token = len(actions)

            def receive(at: datetime = at, kind: str = kind, token: int = token) -> object:
                received[token] = c.inbox.receive(moderator, school_id, account, kind, at, rnd.choice(authors),
                                                  rnd.choice(texts[kind]), None, None, moderator.id)
                return received[token]
            actions.append((at, 1, receive))
            roll = rnd.random()
            delay = (timedelta(minutes=rnd.randint(20, 360)) if roll < 0.7 else
                     timedelta(hours=rnd.randint(6, 22)) if roll < 0.9 else
                     timedelta(hours=rnd.randint(26, 40)) if roll < 0.97 else None)
            if delay is not None:
                actions.append((at + delay, 2, lambda t=token: c.inbox.acknowledge(moderator, received[t])))
    for at, _, act in sorted((a for a in actions if a[0] <= until), key=lambda a: (a[0], a[1])):
        clock.set(at)
        act()
    clock.set(until - timedelta(hours=2))
    c.inbox.sweep_breaches()
    for key, title in (("https://news.example/oakfield-quiz", "Oakfield pupils win regional quiz"),
                       ("https://forum.example/t/oakfield-parking", "Parents discuss Oakfield parking")):
        c.inbox.capture_mention(moderator, school_id, key, title, "", key, None, until - timedelta(days=1))
    # polled for mentions every 15 minutes (.example addresses never answer: a demo's feeds only show on its page)
    c.inbox.register_feed(moderator, school_id, "https://news.example/oakfield/rss", "Local news: Oakfield")
    c.inbox.register_feed(moderator, school_id, "https://forum.example/c/oakfield.atom", "Parents' forum")
    _seed_inbox_today(c, clock, until, school_id, account, moderator)


def _received_for(until: datetime, due_from: timedelta, due_to: timedelta) -> datetime | None:
    """The latest receipt time (on the half hour, in the fortnight before `until`) whose reply falls due between
    `until + due_from` and `until + due_to` at an English school; None if no time does (early on a Monday nothing
    received falls due within the next few hours)."""
    at = until.replace(minute=0 if until.minute < 30 else 30, second=0, microsecond=0)
    for _ in range(14 * 48):
        at -= timedelta(minutes=30)
        if until + due_from < due_at(at, Nation.ENGLAND) <= until + due_to:
            return at
    return None


def _seed_inbox_today(c: Container, clock: SettableClock, until: datetime, school_id: UUID, account: UUID,
                      moderator: Principal) -> None:
    """What the inbox shows at `until` whenever the demo is seeded: a comment received last Saturday (due at the end
    of the next working day), one overdue, one due soon, one on track, and one answered."""
    clock.set(until - timedelta(minutes=5))
    last_saturday = (until.astimezone(LONDON) - timedelta(days=(until.astimezone(LONDON).weekday() - 5) % 7 or 7))
    saturday = datetime.combine(last_saturday.date(), time(10, 0), tzinfo=LONDON)
    receive = c.inbox.receive
    receive(moderator, school_id, account, "comment", saturday, "@saturday_parent",
            "Is the after-school club running this week?", None, None, None)
    overdue = _received_for(until, -timedelta(days=4), -timedelta(hours=1))
    if overdue is not None:
        receive(moderator, school_id, account, "complaint", overdue, "@upset_parent",
                "Nobody has answered my email about the uniform grant", None, None, moderator.id)
    due_soon = _received_for(until, timedelta(hours=1), timedelta(hours=3))
    if due_soon is not None:
        receive(moderator, school_id, account, "query", due_soon, "@new_family",
                "How do we apply for a Reception place?", None, None, None)
    receive(moderator, school_id, account, "message", until - timedelta(minutes=30), "@grandad_joe",
            "Can I collect my grandson on Friday?", None, None, None)
    answered = receive(moderator, school_id, account, "comment", until - timedelta(hours=3), "@choir_mum",
                       "The choir were wonderful tonight!", None, None, None)
    c.inbox.respond(moderator, answered, "Thank you! We will pass it on to the choir.")


def seed_scale(c: Container, schools: int, progress: Callable[[int], None] | None = None,
               seed: int = 7, people_per_school: int = 40, applications_per_school: int = 1000) -> dict[str, int]:
    """Bulk-seeds a synthetic trust: built with the domain model and saved in batches (fast), projected after.
    About 2,000 events per school with the defaults."""
    rnd = random.Random(seed)
    now = c.clock.now()
    t0 = now - timedelta(days=365)
    actor = Actor(ActorKind.SYSTEM, None, "scale seed", None, "cli")
    batch: list[Aggregate] = []
    events = 0

    def flush() -> None:
        nonlocal events, batch
        if batch:
            evs = [e for a in batch for e in a.collect_events()]
            c.applications.save(*evs)
            events += len(evs)
            batch = []

    trust = Trust.register(new_id(), f"Scale Trust {uuid.uuid4().hex[:6]}", actor, t0)
    policy_id = new_id()
    trust.publish_policy(policy_id, "1.0", "Scale policy", actor, t0)
    policy = trust.policy_versions[-1]
    admin = Person.register(new_id(), trust.id, "Scale Admin", f"admin-{trust.id.hex[:8]}@scale.example",
                            actor, t0, None)
    admin.assign_role(Role.TRUST_ADMIN, None, actor, t0)
    batch += [trust, admin]
    for s in range(schools):
        at = t0 + timedelta(minutes=s)
        school = School.add(new_id(), trust.id, f"School {s:04d}", f"{900000 + s}", "england", actor, at)
        batch.append(school)
        members: list[Person] = []
        for i in range(people_per_school):
            role = Role.SLT if i < 2 else Role.MODERATOR if i < 4 else Role.STAFF
            p = Person.register(new_id(), trust.id, f"Person {s}-{i}", f"p{s}-{i}-{trust.id.hex[:6]}@scale.example",
                                actor, at, school.id)
            p.assign_role(role, school.id, actor, at)
            if rnd.random() < 0.8:
                done = (now - timedelta(days=rnd.randint(1, 500))).date()
                p.record_training(new_id(), "Social media training", done, None, 12, now.date(), actor, at,
                                  school.id)
                p.acknowledge_policy(policy_id, {policy_id}, actor, at, school.id)
            if rnd.random() < 0.3:
                p.declare_personal_account(new_id(), "instagram", f"@p{s}_{i}", True, rnd.random() < 0.7,
                                           actor, at, school.id)
            members.append(p)
        batch += members
        eligible = [m for m in members if m.has_valid_training(now.date()) and policy_id in m.acknowledged]
        slt = members[0]
        for k in range(applications_per_school):
            applicant, runner = rnd.sample(members[2:], 2)
            case = BusinessCase("Aim", "Audience", "Promotion", (applicant.id, runner.id), "open", "facebook",
                                f"h{s}_{k}")
            sub_at = now - timedelta(hours=rnd.randint(1, 24 * 300))
            as_applicant = Actor(ActorKind.PERSON, applicant.id, applicant.display_name, "staff", "seed")
            as_slt = Actor(ActorKind.PERSON, slt.id, slt.display_name, "slt", "seed")
            app = AccountApplication.submit(new_id(), trust.id, school.id, applicant.id, case,
                                            {applicant.id: applicant, runner.id: runner}, as_applicant, sub_at)
            roll = rnd.random()
            if roll < 0.6 and len(eligible) >= 2 and applicant in eligible and runner in eligible:
                app.approve(slt.id, [applicant, runner], policy, date(now.year, now.month, now.day), as_slt, sub_at)
            elif roll < 0.85:
                app.reject(slt.id, "Not now", as_slt, sub_at)
            batch.append(app)
        flush()
        if progress is not None:
            progress(1)
    flush()
    return {"events": events, "schools": schools}


def analyze(c: Container) -> None:
    """Refreshes the database's planner statistics after a bulk load, so that its first queries are planned for the
    rows now there (PostgreSQL's autovacuum would, in time, if it is on; decision 0091)."""
    with c.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def scale_admin_id(c: Container) -> UUID | None:
    """The most recent scale trust's admin (for benches)."""
    with c.engine.connect() as conn:
        row = conn.execute(select(rm.people.c.id).where(rm.people.c.email.like("admin-%@scale.example"))
                           .order_by(rm.people.c.created_at.desc())).first()
    return row[0] if row else None

