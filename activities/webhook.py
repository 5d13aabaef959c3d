"""Webhook alerts to a party's own system, signed so the receiver can verify them."""

import json
import time

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity

from activities.delivery_log import PermanentFailure, check_http_reply, deliver_once, skipped
from activities.documents import cabinet_url
from activities.webhook_targets import target_problem
from config import Settings
from db.models import PartyWebhookRow
from domain.notices import Channel, idempotency_key
from domain.signing import SIGNATURE_HEADER, sign
from domain.tasks import SEND_WEBHOOK, AlertRequest, DeliveryOutcome


class WebhookActivities:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        # One client (one TLS context, pooled connections) for the worker's lifetime.
        self._http = httpx.Client(timeout=settings.webhook_timeout_seconds)

    @activity.defn(name=SEND_WEBHOOK)
    def send_webhook_alert(self, request: AlertRequest) -> DeliveryOutcome:
        with Session(self._engine) as session:
            hook = session.get(PartyWebhookRow, request.party.bin)
        if hook is None:
            return skipped(Channel.WEBHOOK, "the party has registered no webhook")
        url, secret = hook.url, hook.secret
        document = request.document
        key = idempotency_key(request.audit_id, document.number, Channel.WEBHOOK)
        body = json.dumps(
            {
                "event": "document.issued",
                "audit_id": request.audit_id,
                "document": {
                    "number": document.number,
                    "kind": document.kind,
                    "title": document.title,
                    "sha256": document.sha256,
                    "url": f"{cabinet_url(self._settings.public_base_url, request.audit_id)}"
                    f"/{document.document_id}",
                },
                "deadline": request.deadline.isoformat() if request.deadline else None,
                "idempotency_key": key,
            },
            ensure_ascii=False,
        ).encode()

        def post() -> str | None:
            problem = target_problem(url, self._settings.webhook_allowed_hosts)
            if problem:
                raise PermanentFailure(problem)
            reply = self._http.post(
                url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "Idempotency-Key": key,
                    SIGNATURE_HEADER: sign(secret, int(time.time()), body),
                },
            )
            check_http_reply(reply, "webhook receiver")
            request_id: str | None = reply.headers.get("X-Request-Id")
            return request_id

        return deliver_once(
            self._engine,
            audit_id=request.audit_id,
            document_number=document.number,
            channel=Channel.WEBHOOK,
            send=post,
            give_up_after=self._settings.alert_give_up,
        )
