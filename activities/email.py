"""E-mail alerts over SMTP: the document's text with its HTML attached as an alternative, and
a link to its signed PDF."""

import hashlib
import smtplib
from email.message import EmailMessage

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity

from activities.delivery_log import PermanentFailure, deliver_once, skipped
from activities.documents import pdf_url
from config import Settings
from db.models import DocumentRow
from domain.notices import Channel, idempotency_key
from domain.tasks import NOTIFY_STAFF, SEND_EMAIL, AlertRequest, DeliveryOutcome, StaffNotice


class EmailActivities:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings

    @activity.defn(name=SEND_EMAIL)
    def send_email_alert(self, request: AlertRequest) -> DeliveryOutcome:
        if not request.party.email:
            return skipped(Channel.EMAIL, "the party has no e-mail address")
        with Session(self._engine) as session:
            document = session.get(DocumentRow, request.document.document_id)
        if document is None:
            raise RuntimeError(f"document {request.document.number} is not stored yet")
        key = idempotency_key(request.audit_id, document.number, Channel.EMAIL)
        message = self._message(key, request.party.email, f"{document.title} № {document.number}")
        text = document.text
        if document.pdf_sha256 is not None:
            pdf = pdf_url(self._settings.public_base_url, document.audit_id, document.id)
            text += f"\n\nPDF: {pdf}\n"
        message.set_content(text)
        message.add_alternative(document.html, subtype="html")
        return deliver_once(
            self._engine,
            audit_id=request.audit_id,
            document_number=document.number,
            channel=Channel.EMAIL,
            send=lambda: self._send(message),
            give_up_after=self._settings.alert_give_up,
        )

    @activity.defn(name=NOTIFY_STAFF)
    def notify_staff(self, notice: StaffNotice) -> DeliveryOutcome:
        """Tell the customs office's inspectors something needs a person (e-mail)."""
        subject = f"[{notice.audit_id}] {notice.subject}"
        number = f"staff:{notice.topic or hashlib.sha256(subject.encode()).hexdigest()[:16]}"
        key = idempotency_key(notice.audit_id, number, Channel.EMAIL)
        message = self._message(key, self._settings.staff_alert_email, subject)
        message.set_content(
            f"{notice.body}\n\nCustoms office {notice.customs_office}, "
            f"inspector {notice.inspector_id}."
        )
        return deliver_once(
            self._engine,
            audit_id=notice.audit_id,
            document_number=number,
            channel=Channel.EMAIL,
            send=lambda: self._send(message),
            give_up_after=self._settings.alert_give_up,
        )

    def _message(self, key: str, to: str, subject: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._settings.mail_from
        message["To"] = to
        message["Subject"] = subject
        # The same Message-ID on every retry lets a receiving system drop a duplicate.
        domain = self._settings.mail_from.rsplit("@", 1)[-1]
        message["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
        return message

    def _send(self, message: EmailMessage) -> str:
        settings = self._settings
        smtp_class = smtplib.SMTP_SSL if settings.smtp_ssl else smtplib.SMTP
        try:
            with smtp_class(
                settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
            ) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls()
                if settings.smtp_username and settings.smtp_password:
                    smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            raise PermanentFailure(f"recipient refused: {error.recipients}") from error
        except smtplib.SMTPResponseException as error:
            if 500 <= error.smtp_code < 600:
                raise PermanentFailure(f"SMTP {error.smtp_code}: {error.smtp_error!r}") from error
            raise
        return str(message["Message-ID"])
