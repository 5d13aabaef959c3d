"""SMS alerts through the operator's HTTP gateway.

Gateway contract: POST JSON {"to", "text", "reference"} with a bearer token and an
Idempotency-Key header; 2xx answers {"id": ...}. A 4xx is the gateway refusing this message
for good (bad number, bad credentials); a 5xx, 429 or a timeout is worth retrying.
"""

import httpx
from sqlalchemy.engine import Engine
from temporalio import activity

from activities.delivery_log import check_http_reply, deliver_once, skipped
from activities.documents import cabinet_url
from activities.rendering import document_language, render_text
from config import Settings
from domain.notices import Channel, idempotency_key
from domain.tasks import SEND_SMS, AlertRequest, DeliveryOutcome


class SmsActivities:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        # One client (one TLS context, pooled connections) for the worker's lifetime.
        self._http = httpx.Client(timeout=settings.sms_timeout_seconds)

    @activity.defn(name=SEND_SMS)
    def send_sms_alert(self, request: AlertRequest) -> DeliveryOutcome:
        phone = request.party.phone
        if not phone:
            return skipped(Channel.SMS, "the party has no phone number")
        document = request.document
        key = idempotency_key(request.audit_id, document.number, Channel.SMS)
        text = render_text(
            f"alerts/sms.{document_language(request.party.language)}.j2",
            {
                "title": document.title,
                "number": document.number,
                "deadline": request.deadline,
                "url": cabinet_url(self._settings.public_base_url, request.audit_id),
            },
        )
        return deliver_once(
            self._engine,
            audit_id=request.audit_id,
            document_number=document.number,
            channel=Channel.SMS,
            send=lambda: self._post(phone, text, key),
            give_up_after=self._settings.alert_give_up,
        )

    def _post(self, phone: str, text: str, key: str) -> str | None:
        settings = self._settings
        reply = self._http.post(
            settings.sms_gateway_url,
            json={"to": phone, "text": text, "reference": key},
            headers={
                "Authorization": f"Bearer {settings.sms_gateway_token.get_secret_value()}",
                "Idempotency-Key": key,
            },
        )
        check_http_reply(reply, "SMS gateway")
        provider_id = reply.json().get("id")
        return str(provider_id) if provider_id is not None else None
