"""An SMTP server (aiosmtpd) that keeps every message it receives in a folder and in memory.

Recipients in the reserved `.invalid` domain are refused with 550, as a real server refuses
an unknown mailbox."""

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
        self.messages.append(message)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"{len(self.messages):05d}.eml").write_bytes(raw)
        log.warning("mail to %s: %s", ", ".join(envelope.rcpt_tos), message["Subject"])
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

    def start(self) -> "MailSink":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> "MailSink":
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()
