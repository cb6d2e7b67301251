"""Outgoing mail over SMTP (SOCIALGOV_SMTP_URL: smtp://host:port or smtps://user:pass@host:port)."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

log = logging.getLogger("socialgov.mail")


class SmtpMailer:
    def __init__(self, url: str, sender: str = "socialgov@localhost") -> None:
        u = urlparse(url)
        if u.scheme not in ("smtp", "smtps"):
            raise ValueError("SOCIALGOV_SMTP_URL must be smtp://host:port or smtps://user:pass@host:port")
        self.host, self.port = u.hostname or "127.0.0.1", u.port or (465 if u.scheme == "smtps" else 25)
        self.tls = u.scheme == "smtps"
        self.user, self.password = unquote(u.username or ""), unquote(u.password or "")
        self.sender = sender

    def send(self, to: list[str], subject: str, body: str) -> None:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, ", ".join(to), subject
        msg.set_content(body)
        smtp_cls = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
        with smtp_cls(self.host, self.port, timeout=10) as smtp:
            if self.user:
                smtp.login(self.user, self.password)
            smtp.send_message(msg)
        log.info("mail sent to %d recipient(s): %s", len(to), subject)


class LogMailer:
    """Development default when no SMTP server is configured: mail is logged, not sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[list[str], str, str]] = []

    def send(self, to: list[str], subject: str, body: str) -> None:
        self.sent.append((to, subject, body))
        log.info("mail (not sent: no SOCIALGOV_SMTP_URL) to %d recipient(s): %s", len(to), subject)
