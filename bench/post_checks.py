"""Post checks bench: the pre-publication checks (domain/post_checks.py) of a 2,000-character post with 10 tagged
pupils against a school register of 2,000 pupils - p50/p95/max milliseconds per check, target p95 <= 10 ms.
Pure functions, no database: the figure is the cost a runner's keystroke pays on the compose page. Also the cost
of arranging the register for matching (done once per register version). Prints one JSON document.

    .venv/bin/python bench/post_checks.py [--runs 500] [--pupils 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time

from domain.post_checks import ContentRules, Draft, Media, PostingRules, PupilIndex, RegisterPupil, check_post

FIRST = ["Amy", "Ben", "Cara", "Dev", "Ella", "Finn", "Grace", "Harry", "Isla", "Jack", "Kiera", "Leo", "Maya",
         "Noah", "Olivia", "Priya", "Quinn", "Ruby", "Sam", "Tia", "Umar", "Vera", "Will", "Xena", "Yusuf", "Zara"]
LAST = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
        "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
        "O'Neil", "Smith-Jones", "Khan", "Lewis", "Hughes", "Edwards", "Hill", "Moore", "Ward"]


def register(n: int, rng: random.Random) -> list[RegisterPupil]:
    return [RegisterPupil(f"P{i:05d}", f"{rng.choice(FIRST)} {rng.choice(LAST)}", consent=rng.random() > 0.1,
                          no_publish=rng.random() < 0.03) for i in range(n)]


def post_text(pupils: list[RegisterPupil], rng: random.Random) -> str:
    words = ("What a wonderful week at school our pupils have had with trips visits concerts and sport "
             "thank you to every parent and carer who helped").split()
    parts: list[str] = []
    named = rng.sample(pupils, 6)
    while sum(len(p) + 1 for p in parts) < 1900:
        parts.append(rng.choice(words))
        if rng.random() < 0.03 and named:
            p = named.pop()
            parts.append(p.name if rng.random() < 0.5 else p.name.split()[0] + " " + p.name.split()[-1][0] + ".")
    parts += ["Details:", "https://www.example.org/news", "call", "07700", "900123", "- Mrs", "Patel"]
    return " ".join(parts)[:2000]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--pupils", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(24)
    pupils = register(args.pupils, rng)
    builds = []
    for _ in range(20):
        start = time.perf_counter()
        index = PupilIndex.of(pupils)
        builds.append((time.perf_counter() - start) * 1000)
    text = post_text(pupils, rng)
    tagged = tuple(p.pupil_ref for p in rng.sample(pupils, 10))
    draft = Draft(text, media=(Media("Sports day relay", True, tagged[:5]), Media("Medals", True, tagged[5:])),
                  links=("https://www.oakfield.sch.uk/sports",))
    rules = ContentRules(allowed_domains=frozenset({"oakfield.sch.uk"}), controversial_words=("strike", "ofsted"))
    posting = PostingRules(signature_required=True)
    findings = check_post(draft, index, rules, posting)
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        check_post(draft, index, rules, posting)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(json.dumps({
        "bench": "post_checks",
        "post_characters": len(text), "tagged_pupils": len(tagged), "register_pupils": len(pupils),
        "findings": len(findings), "runs": args.runs,
        "check_ms": {"p50": round(statistics.median(times), 3), "p95": round(p95, 3), "max": round(times[-1], 3)},
        "register_index_ms": {"p50": round(statistics.median(builds), 3), "max": round(max(builds), 3)},
        "target_p95_ms": 10, "meets_target": p95 <= 10,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_average": [round(x, 2) for x in os.getloadavg()]},
    }, indent=2))


if __name__ == "__main__":
    main()
