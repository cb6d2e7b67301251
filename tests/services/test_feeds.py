"""Feed polling against a local HTTP server serving an Atom feed: polling twice yields each mention once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.conftest import World

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Mentions of Oakfield</title><id>urn:feed:oakfield</id><updated>2026-03-09T12:00:00Z</updated>
  <entry><title>Oakfield pupils win regional quiz</title><id>urn:uuid:1</id>
    <link href="https://news.example/quiz"/><updated>2026-03-09T10:00:00Z</updated>
    <summary>Great news for the school.</summary><author><name>Local News</name></author></entry>
  <entry><title>Parent complains about Oakfield car park</title><id>urn:uuid:2</id>
    <link href="https://forum.example/t/2"/><updated>2026-03-09T11:00:00Z</updated></entry>
</feed>"""


@pytest.fixture
def feed_url() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/oakfield.atom":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/atom+xml")
            self.end_headers()
            self.wfile.write(ATOM)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/oakfield.atom"
    finally:
        server.shutdown()


def test_polling_twice_yields_each_mention_once(world: World, feed_url: str) -> None:
    r = world.post("mod", f"/api/v1/schools/{world.school}/feeds", {"url": feed_url, "title": "News alerts"})
    assert r.status_code == 201
    dup = world.post("mod", f"/api/v1/schools/{world.school}/feeds", {"url": feed_url, "title": "again"})
    assert dup.status_code == 422 and dup.json()["errors"][0]["field"] == "url"
    broken = world.post("mod", f"/api/v1/schools/{world.other_school}/feeds",
                        {"url": feed_url.replace("oakfield", "missing"), "title": "Broken"})
    assert broken.status_code == 404  # mod is not at the other school
    first = world.c.inbox.poll_feeds()
    assert first.mentions >= 2
    assert world.c.inbox.poll_feeds().mentions == 0
    items = world.get("head", f"/api/v1/schools/{world.school}/mentions").json()["items"]
    assert sorted(m["title"] for m in items) == ["Oakfield pupils win regional quiz",
                                                 "Parent complains about Oakfield car park"]
    quiz = next(m for m in items if "quiz" in m["title"])
    assert quiz["link"] == "https://news.example/quiz" and quiz["author"] == "Local News"
    assert quiz["published_at"].startswith("2026-03-09T10:00")
    dash = world.client.post("/graphql", headers=world.h("head"), json={
        "query": "query($s: ID!) { schoolDashboard(schoolId: $s) { mentionsAwaitingTriage } }",
        "variables": {"s": str(world.school)}}).json()["data"]["schoolDashboard"]
    assert dash["mentionsAwaitingTriage"] == 2
