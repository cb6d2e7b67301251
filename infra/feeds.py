"""Fetching RSS/Atom feeds of public mentions with feedparser."""

from __future__ import annotations

import calendar
import urllib.request
from datetime import UTC, datetime

import feedparser

from services.ports import FeedItem

MAX_FEED_BYTES = 5 * 1024 * 1024


class FeedparserFetcher:
    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def fetch(self, url: str) -> list[FeedItem]:
        if not url.startswith(("http://", "https://")):
            raise ValueError("only http(s) feeds are fetched")
        request = urllib.request.Request(url, headers={"User-Agent": "SocialGov feed monitor"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - scheme checked above
            data = response.read(MAX_FEED_BYTES + 1)
        if len(data) > MAX_FEED_BYTES:
            raise ValueError("feed larger than 5 MB")
        parsed = feedparser.parse(data)
        if parsed.bozo and not parsed.entries:
            raise ValueError(f"unreadable feed: {type(parsed.bozo_exception).__name__}")
        items = []
        for entry in parsed.entries:
            link = entry.get("link")
            key = entry.get("id") or entry.get("guid") or link
            if not key:
                continue
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")
            published = datetime.fromtimestamp(calendar.timegm(stamp), tz=UTC) if stamp else None
            items.append(FeedItem(key=str(key), title=str(entry.get("title") or link or key),
                                  summary=str(entry.get("summary") or ""), link=str(link) if link else None,
                                  author=str(entry.get("author")) if entry.get("author") else None,
                                  published_at=published))
        return items
