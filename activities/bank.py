"""Orders on the party's bank accounts (Art. 125), sent to the banks' interface.

Contract: POST JSON {"order": "suspend" | "lift", "audit_id", "party_bin", "party_name",
"document_number", "sha256", "issued_on", "amount_owed", "pdf_url"} with a bearer token and an
Idempotency-Key header that stays the same on every try; 2xx answers {"id": ...}. A 4xx is
the interface refusing this order for good (an unknown payer, bad credentials); a 5xx, 429 or
a timeout is worth retrying. Every try is written to the delivery record, and an order the
record shows as sent is not sent again.
"""

import httpx
from sqlalchemy.engine import Engine
from temporalio import activity

from activities.delivery_log import check_http_reply, deliver_once
from activities.documents import pdf_url
from config import Settings
from domain.notices import Channel, idempotency_key
from domain.tasks import SEND_BANK_ORDER, BankOrder, DeliveryOutcome

PROVIDER_ID_MAX = 200  # the delivery record's column


class BankActivities:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        # One client (one TLS context, pooled connections) for the worker's lifetime.
        self._http = httpx.Client(timeout=settings.bank_orders_timeout_seconds)

    @activity.defn(name=SEND_BANK_ORDER)
    def send_bank_order(self, order: BankOrder) -> DeliveryOutcome:
        document = order.document
        key = idempotency_key(order.audit_id, document.number, Channel.BANK)
        body = {
            "order": order.order,
            "audit_id": order.audit_id,
            "party_bin": order.party.bin,
            "party_name": order.party.name,
            "document_number": document.number,
            "sha256": document.sha256,
            "issued_on": order.issued_on.isoformat(),
            "amount_owed": order.amount_owed,
            "pdf_url": pdf_url(
                self._settings.public_base_url, order.audit_id, document.document_id
            ),
        }
        return deliver_once(
            self._engine,
            audit_id=order.audit_id,
            document_number=document.number,
            channel=Channel.BANK,
            send=lambda: self._post(body, key),
            give_up_after=self._settings.bank_order_give_up,
        )

    def _post(self, body: dict[str, str], key: str) -> str | None:
        settings = self._settings
        reply = self._http.post(
            settings.bank_orders_url,
            json=body,
            headers={
                "Authorization": f"Bearer {settings.bank_orders_token.get_secret_value()}",
                "Idempotency-Key": key,
            },
        )
        check_http_reply(reply, "banks' interface")
        try:
            provider_id = reply.json().get("id")
        except (ValueError, AttributeError):  # taken (2xx) without the id: still taken
            return None
        return str(provider_id)[:PROVIDER_ID_MAX] if provider_id is not None else None
