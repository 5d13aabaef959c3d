"""Legal delivery: the cabinet in each language, registered mail with its receipt or return
and inspection act, delivery by hand, and the delivery date of a placement."""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy.engine import Engine

from activities.cabinet import CabinetActivities
from config import Settings
from devsinks.mail import MailSink
from domain.calendar import WorkingCalendar, response_deadline
from domain.clock import ALMATY, local_date
from domain.tasks import CabinetPlacement
from tests.cases import started, until
from tests.deliveries import (
    alerts_done,
    attempts,
    eventually,
    party,
    run_activity,
    sms_request,
)
from tests.factories import PARTY_BIN, next_audit_id, start_body


async def test_each_language_gets_its_documents_in_cabinet_and_mail(
    api: httpx.AsyncClient, mail_sink: MailSink
) -> None:
    titles = {
        "kk": "Бұзушылықтарды жою туралы хабарлама",
        "ru": "Уведомление об устранении нарушений",
        "en": "Notification on the elimination of violations",
    }
    for language, title in titles.items():
        case = await started(api, party=party(language=language))
        listing = (await api.get(f"/audits/{case['id']}/documents")).json()
        assert {d["kind"] for d in listing} == {"notification", "anti_corruption_memo"}
        notification = next(d for d in listing if d["kind"] == "notification")
        assert notification["title"] == title and notification["language"] == language
        assert notification["number"] == f"{case['id']}/N1"

        html = await api.get(notification["url"])
        assert html.headers["content-type"].startswith("text/html")
        assert hashlib.sha256(html.content).hexdigest() == notification["sha256"]
        assert html.headers["x-content-sha256"] == notification["sha256"]
        text = await api.get(notification["url"], headers={"Accept": "text/plain"})
        assert text.headers["content-type"].startswith("text/plain")
        assert hashlib.sha256(text.content).hexdigest() == notification["text_sha256"]
        assert "1 293 689,60 ₸".replace(" ", "\u00a0") in text.text

        def mailed(number: str = notification["number"]) -> Any:
            async def read() -> list[Any]:
                return [m for m in mail_sink.messages if number in str(m["Subject"])]

            return read

        messages = await eventually(mailed())
        assert len(messages) == 1 and title in str(messages[0]["Subject"])
        body = messages[0].get_body(preferencelist=("plain",))
        assert body is not None and notification["number"] in body.get_content()
        delivered = await alerts_done(api, case["id"])
        assert attempts(delivered, "cabinet") == ["sent", "sent"]

    other = await api.get(f"/audits/{case['id']}/documents/not-a-document")
    assert other.status_code == 404
    assert (await api.get("/audits/CA-2026-999998/documents")).status_code == 404


@pytest_asyncio.fixture(loop_scope="session")
async def posted(api: httpx.AsyncClient) -> AsyncIterator[dict[str, Any]]:
    """A case served by registered mail, waiting for the postal receipt."""
    body = start_body(
        delivery_method="registered_mail",
        party=party(address="Almaty, Abay ave. 1, office 5"),
    )
    reply = await api.post("/audits", json=body)
    assert reply.status_code == 201, reply.text
    case = reply.json()
    for _ in range(100):
        if case["awaiting"] == "postal_receipt":
            break
        await asyncio.sleep(0.1)
        case = (await api.get(f"/audits/{case['id']}")).json()
    yield case


async def test_registered_mail_needs_an_address(api: httpx.AsyncClient) -> None:
    reply = await api.post("/audits", json=start_body(delivery_method="registered_mail"))
    assert reply.status_code == 422
    assert "party.address" in reply.text


async def test_postal_receipt_starts_the_deadline(
    api: httpx.AsyncClient, posted: dict[str, Any]
) -> None:
    audit = posted["id"]
    assert posted["status"] == "ISSUED" and posted["response_deadline"] is None
    assert attempts(posted, "registered_mail") == ["sent", "sent"]
    early = await api.post(
        f"/audits/{audit}/delivery",
        json={"delivered_on": "2020-01-01", "receipt_no": "RR123456789KZ"},
    )
    assert early.status_code == 422 and early.json()["field"] == "delivered_on"
    today = posted["issued_on"]
    served = await api.post(
        f"/audits/{audit}/delivery", json={"delivered_on": today, "receipt_no": "RR123456789KZ"}
    )
    assert served.status_code == 200, served.text
    case = served.json()
    assert case["status"] == "AWAITING_RESPONSE" and case["delivered_on"] == today
    assert case["response_deadline"] == response_deadline(date.fromisoformat(today)).isoformat()
    events = (await api.get(f"/audits/{audit}")).json()["events"]
    delivered = next(e for e in events if e["kind"] == "delivered")
    assert delivered["details"]["reference"] == "RR123456789KZ"
    again = await api.post(
        f"/audits/{audit}/delivery", json={"delivered_on": today, "receipt_no": "RR1"}
    )
    assert again.status_code == 409


async def test_returned_mail_then_inspection_act_sets_the_delivery_date(
    api: httpx.AsyncClient, posted: dict[str, Any], mail_sink: MailSink
) -> None:
    audit, today = posted["id"], posted["issued_on"]
    early_act = await api.post(
        f"/audits/{audit}/delivery/inspection",
        json={"act_no": "A-1", "act_date": today, "finding": "party_absent"},
    )
    assert early_act.status_code == 409
    returned = await api.post(
        f"/audits/{audit}/delivery/returned",
        json={"returned_on": today, "reason": "addressee absent"},
    )
    assert returned.status_code == 200, returned.text
    waiting = returned.json()
    assert waiting["status"] == "ISSUED" and waiting["awaiting"] == "inspection_act"
    five_days = WorkingCalendar().nth_working_day_after(date.fromisoformat(today), 5)
    assert waiting["inspection_deadline"] == five_days.isoformat()
    receipt = await api.post(
        f"/audits/{audit}/delivery", json={"delivered_on": today, "receipt_no": "RR1"}
    )
    assert receipt.status_code == 409
    act = await api.post(
        f"/audits/{audit}/delivery/inspection",
        json={"act_no": "A-77", "act_date": today, "finding": "party_absent"},
    )
    assert act.status_code == 200, act.text
    case = act.json()
    assert case["status"] == "AWAITING_RESPONSE" and case["delivered_on"] == today
    assert case["response_deadline"] == response_deadline(date.fromisoformat(today)).isoformat()
    assert case["awaiting"] is None
    kinds = [e["kind"] for e in (await api.get(f"/audits/{audit}")).json()["events"]]
    assert "mail_returned" in kinds and "staff_notified" in kinds
    await until(api, audit, "AWAITING_RESPONSE")


async def test_hand_delivery_counts_from_the_representatives_signature(
    api: httpx.AsyncClient,
) -> None:
    started = await api.post("/audits", json=start_body(delivery_method="hand"))
    assert started.status_code == 201, started.text
    audit = started.json()["id"]
    for _ in range(100):
        waiting = (await api.get(f"/audits/{audit}")).json()
        if waiting["awaiting"] == "hand_signature":
            break
        await asyncio.sleep(0.1)
    assert waiting["awaiting"] == "hand_signature" and waiting["response_deadline"] is None
    today = waiting["issued_on"]
    by_post = await api.post(
        f"/audits/{audit}/delivery", json={"delivered_on": today, "receipt_no": "RR1"}
    )
    assert by_post.status_code == 409  # it was not posted
    returned = await api.post(
        f"/audits/{audit}/delivery/returned", json={"returned_on": today, "reason": "gone"}
    )
    assert returned.status_code == 409
    signed = await api.post(
        f"/audits/{audit}/delivery",
        json={"channel": "hand", "delivered_on": today, "receipt_no": "signed by A. Nurlanov"},
    )
    assert signed.status_code == 200, signed.text
    case = signed.json()
    assert case["status"] == "AWAITING_RESPONSE" and case["delivered_on"] == today
    assert case["response_deadline"] == response_deadline(date.fromisoformat(today)).isoformat()


async def test_a_placement_that_slips_past_midnight_is_delivered_the_new_day(
    engine: Engine, settings: Settings
) -> None:
    """Serving began at 23:59:59 in Almaty the day before; the document landed in the cabinet
    now, so the party was served today (the later date, in the party's favour)."""
    now = datetime.now(UTC)
    begun = datetime.combine(local_date(now) - timedelta(days=1), time(23, 59, 59), ALMATY)
    audit = next_audit_id()
    placement = CabinetPlacement(
        audit_id=audit,
        party_bin=PARTY_BIN,
        document=sms_request(audit).document,
        requested_at=begun.astimezone(UTC),
    )
    outcome = await run_activity(CabinetActivities(engine).place_document_in_cabinet, placement)
    assert outcome.delivered_on == local_date(datetime.now(UTC))
    assert outcome.delivered_on > begun.date()
