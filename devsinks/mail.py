"""An SMTP server (aiosmtpd) that keeps every message it receives in a folder and in memory.

Recipients in the reserved `.invalid` domain are refused with 550, as a real server refuses
an unknown mailbox. A message whose Message-ID it already holds is a resend (delivery is
at-least-once): it is acknowledged and counted in `resends`, not kept twice. `slow_replies`
makes it take the next messages but answer late, as an overloaded relay does."""

import asyncio
import logging
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger("devsinks.mail")


class _Keeper:
    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.messages: list[EmailMessage] = []
        self.resends: list[str] = []
        self.slow_replies: list[float] = []  # seconds to wait before answering, one per message

    async def handle_RCPT(
        self,
        _server: SMTP,
        _session: Session,
        envelope: Envelope,
        address: str,
        _options: list[str],
    ) -> str:
        """Bounce the reserved `.invalid` domain (RFC 2606), to try out a permanent failure."""
        if address.lower().rstrip(">").endswith(".invalid"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        message_id = str(message["Message-ID"] or "")
        if message_id and any(str(m["Message-ID"]) == message_id for m in self.messages):
            self.resends.append(message_id)
            return "250 OK (already delivered)"
        self.messages.append(message)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"{len(self.messages):05d}.eml").write_bytes(raw)
        log.warning("mail to %s: %s", ", ".join(envelope.rcpt_tos), message["Subject"])
        if self.slow_replies:
            await asyncio.sleep(self.slow_replies.pop(0))
        return "250 OK"


class MailSink:
    """Start with `start()`, read `messages`, stop with `stop()`."""

    def __init__(self, host: str, port: int, folder: Path | None = None) -> None:
        self._keeper = _Keeper(folder)
        self._controller = Controller(self._keeper, hostname=host, port=port)

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return self._keeper.messages

    @property
    def resends(self) -> list[str]:
        return self._keeper.resends

    def answer_late(self, seconds: float, times: int = 1) -> None:
        self._keeper.slow_replies.extend([seconds] * times)

    def start(self) -> "MailSink":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> "MailSink":
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()
