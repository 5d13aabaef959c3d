"""Documents reach the party through every channel, with real servers on loopback: the
aiosmtpd sink, the local SMS gateway told to fail, and a webhook receiver that verifies."""

import asyncio
import dataclasses
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.cabinet import CabinetActivities
from activities.email import EmailActivities
from activities.sms import SmsActivities
from activities.webhook import WebhookActivities
from activities.webhook_targets import address_problem
from config import Settings
from db.models import DeliveryAttemptRow, DocumentRow
from devsinks.mail import MailSink
from domain.calendar import WorkingCalendar, response_deadline
from domain.case import Party
from domain.clock import ALMATY, local_date
from domain.notices import DocumentKind
from domain.tasks import AlertRequest, CabinetPlacement, RenderedDocument, StaffNotice
from tests.cases import started, until
from tests.conftest import serving
from tests.factories import PARTY_BIN, explanation_body, next_audit_id, start_body
from tests.receivers import create_receiver

SECRET = "s3cret-s3cret-s3cret-s3cret-s3cret-42"


async def eventually(read: Any, timeout: float = 30) -> Any:
    """The first truthy value `read()` gives within `timeout` seconds."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    while True:
        value = await read()
        if value or loop.time() > give_up:
            return value
        await asyncio.sleep(0.1)


def attempts(case: dict[str, Any], channel: str) -> list[str]:
    return [
        e["details"]["status"]
        for e in case["events"]
        if e["kind"] == "delivery_attempt" and e["details"]["channel"] == channel
    ]


async def until_event(api: httpx.AsyncClient, audit_id: str, kind: str) -> dict[str, Any]:
    async def read() -> dict[str, Any] | None:
        case: dict[str, Any] = (await api.get(f"/audits/{audit_id}")).json()
        return case if any(e["kind"] == kind for e in case["events"]) else None

    found: dict[str, Any] | None = await eventually(read)
    assert found is not None, f"{audit_id} never recorded {kind}"
    return found


async def alerts_done(api: httpx.AsyncClient, audit_id: str) -> dict[str, Any]:
    """The case once its three alert channels have each reported an outcome."""

    async def read() -> dict[str, Any] | None:
        case: dict[str, Any] = (await api.get(f"/audits/{audit_id}")).json()
        final = {"sent", "skipped", "permanent-failure"}
        done = all(
            any(s in final for s in attempts(case, ch)) for ch in ("email", "sms", "webhook")
        )
        return case if done else None

    found: dict[str, Any] | None = await eventually(read, timeout=60)
    assert found is not None, f"{audit_id}: alerts did not finish"
    return found


def first_try() -> ActivityEnvironment:
    """An activity's first attempt, scheduled now."""
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(
        environment.info, attempt=1, scheduled_time=datetime.now(UTC)
    )
    return environment


async def run_activity(function: Any, request: Any) -> Any:
    """Run a sync activity as the worker would, outside any workflow, in a thread."""
    return await asyncio.to_thread(first_try().run, function, request)


def sms_request(audit_id: str) -> AlertRequest:
    return AlertRequest(
        audit_id=audit_id,
        party=Party.model_validate(party()),
        document=RenderedDocument(
            document_id=f"doc-{audit_id}",
            number=f"{audit_id}/N1",
            kind=DocumentKind.NOTIFICATION,
            title="Notification",
            sha256="0" * 64,
        ),
        deadline=date(2026, 12, 22),
    )


def party(**changes: Any) -> dict[str, Any]:
    return {**start_body()["party"], **changes}


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


async def test_webhook_is_signed_and_verified_by_the_receiver(api: httpx.AsyncClient) -> None:
    app, accepted = create_receiver(SECRET)
    async with serving(app) as receiver:
        bad = await api.put(
            f"/parties/{PARTY_BIN}/webhook", json={"url": f"{receiver}/hook", "secret": "short"}
        )
        assert bad.status_code == 422
        wrong_bin = await api.put(
            "/parties/950400000450/webhook", json={"url": f"{receiver}/hook", "secret": SECRET}
        )
        assert wrong_bin.status_code == 422 and wrong_bin.json()["field"] == "party_bin"
        registered = await api.put(
            f"/parties/{PARTY_BIN}/webhook", json={"url": f"{receiver}/hook", "secret": SECRET}
        )
        assert registered.status_code == 200
        case = await started(api)
        done = await alerts_done(api, case["id"])
    assert attempts(done, "webhook") == ["sent"]
    assert [p["document"]["number"] for p in accepted] == [f"{case['id']}/N1"]
    assert accepted[0]["document"]["sha256"] == next(
        d["sha256"]
        for d in (await api.get(f"/audits/{case['id']}/documents")).json()
        if d["kind"] == "notification"
    )


async def test_webhooks_into_the_customs_network_are_refused(api: httpx.AsyncClient) -> None:
    url = f"/parties/{PARTY_BIN}/webhook"
    for target in (
        "http://localhost:8080/hook",  # loopback by name, not on the allow list
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://10.1.2.3/hook",
        "http://[::ffff:192.168.0.1]/hook",
        "https://no-such-host.invalid/hook",
    ):
        reply = await api.put(url, json={"url": target, "secret": SECRET})
        assert reply.status_code == 422 and reply.json()["field"] == "url", (target, reply.text)
    assert address_problem("8.8.8.8") is None and address_problem("2001:4860::8888") is None
    assert address_problem("100.64.0.1") is not None  # carrier-grade NAT is not the internet


async def test_gateway_down_then_up_delivers_once(
    api: httpx.AsyncClient, sms_gateway: str, engine: Engine
) -> None:
    async with httpx.AsyncClient(base_url=sms_gateway) as gateway:
        await gateway.post("/faults", json={"mode": "fail", "times": 2})
        case = await started(api)
        done = await alerts_done(api, case["id"])
        texts = [t for t in (await gateway.get("/messages")).json() if case["id"] in t["reference"]]
    assert attempts(done, "sms") == ["temporary-failure", "temporary-failure", "sent"]
    assert len(texts) == 1 and f"{case['id']}/N1" in texts[0]["text"]
    with Session(engine) as session:
        rows = session.exec(
            select(DeliveryAttemptRow).where(
                DeliveryAttemptRow.audit_id == case["id"], DeliveryAttemptRow.channel == "sms"
            )
        ).all()
    assert [r.status for r in rows] == ["temporary-failure", "temporary-failure", "sent"]
    assert [r.attempt for r in rows] == [1, 2, 3]


async def test_every_channel_failing_tells_the_case_and_the_inspector(
    api: httpx.AsyncClient, sms_gateway: str, mail_sink: MailSink, settings: Settings
) -> None:
    async with httpx.AsyncClient(base_url=sms_gateway) as gateway:
        await gateway.post("/faults", json={"mode": "reject", "times": 1})
        case = await started(api, party=party(email="nobody@nowhere.invalid"))
    failed = await until_event(api, case["id"], "staff_notified")
    assert attempts(failed, "email") == ["permanent-failure"]
    assert attempts(failed, "sms") == ["permanent-failure"]
    assert attempts(failed, "webhook") == ["skipped"]
    assert attempts(failed, "cabinet") == ["sent", "sent"]  # legal delivery was not held up
    assert failed["alerts_failed"] is True
    assert failed["status"] == "AWAITING_RESPONSE"
    staff = [m for m in mail_sink.messages if str(m["To"]) == settings.staff_alert_email]
    assert any(case["id"] in str(m["Subject"]) for m in staff)

    # A later document whose alerts fail too is a second reason to call the party: the
    # office hears of it, though the subject is the same.
    async with httpx.AsyncClient(base_url=sms_gateway) as gateway:
        await gateway.post("/faults", json={"mode": "reject", "times": 1})
        explained = await api.post(
            f"/audits/{case['id']}/explanation", json=explanation_body(failed)
        )
        assert explained.status_code == 200, explained.text
        asked = await api.post(
            f"/audits/{case['id']}/document-requests", json={"items": ["SWIFT copy"]}
        )
        assert asked.status_code == 200, asked.text

        async def told_twice() -> bool:
            subject = f"[{case['id']}] The party could not be alerted"
            mails = [m for m in mail_sink.messages if str(m["Subject"]) == subject]
            return len(mails) == 2

        assert await eventually(told_twice, timeout=30)


async def test_a_retried_sms_activity_does_not_send_again(
    engine: Engine, settings: Settings, sms_gateway: str
) -> None:
    activities = SmsActivities(engine, settings)
    request = sms_request("CA-2026-777777")
    async with httpx.AsyncClient(base_url=sms_gateway) as gateway:
        before = (await gateway.get("/stats")).json()["requests"]
        first = await run_activity(activities.send_sms_alert, request)
        again = await run_activity(activities.send_sms_alert, request)
        after = (await gateway.get("/stats")).json()["requests"]
    assert first.status == again.status == "sent"
    assert again.provider_id == first.provider_id and again.detail.startswith("already sent")
    assert after - before == 1


async def test_a_bad_number_is_a_permanent_failure(
    engine: Engine, settings: Settings, sms_gateway: str
) -> None:
    activities = SmsActivities(engine, settings)
    request = sms_request("CA-2026-777778")
    async with httpx.AsyncClient(base_url=sms_gateway) as gateway:
        await gateway.post("/faults", json={"mode": "reject", "times": 1})
        try:
            await run_activity(activities.send_sms_alert, request)
        except ApplicationError as error:
            refused = error
        else:
            raise AssertionError("a rejected number must not count as sent")
    assert refused.non_retryable and "400" in refused.message


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


async def test_resends_after_a_lost_record_or_a_slow_relay_are_recognised(
    api: httpx.AsyncClient,
    engine: Engine,
    settings: Settings,
    mail_sink: MailSink,
    sms_gateway: str,
) -> None:
    """Delivery is at-least-once: a send whose "sent" record is lost (the worker died between
    the two) or whose answer came too late is sent again under the same key, and the
    receivers recognise it."""
    app, accepted = create_receiver(SECRET)
    async with serving(app) as receiver:
        hook = {"url": f"{receiver}/hook", "secret": SECRET}
        assert (await api.put(f"/parties/{PARTY_BIN}/webhook", json=hook)).status_code == 200
        case = await started(api)
        await alerts_done(api, case["id"])
        with Session(engine) as session:  # the crash: nothing says the alerts went out
            for row in session.exec(
                select(DeliveryAttemptRow).where(DeliveryAttemptRow.audit_id == case["id"])
            ):
                if row.channel in ("email", "sms", "webhook"):
                    session.delete(row)
            session.commit()
            document = session.exec(
                select(DocumentRow).where(DocumentRow.number == f"{case['id']}/N1")
            ).one()
        request = AlertRequest(
            audit_id=case["id"],
            party=Party.model_validate(party()),
            document=RenderedDocument(
                document_id=document.id,
                number=document.number,
                kind=DocumentKind.NOTIFICATION,
                title=document.title,
                sha256=document.sha256,
            ),
        )
        resent = [
            await run_activity(EmailActivities(engine, settings).send_email_alert, request),
            await run_activity(SmsActivities(engine, settings).send_sms_alert, request),
            await run_activity(WebhookActivities(engine, settings).send_webhook_alert, request),
        ]
    assert [outcome.status for outcome in resent] == ["sent"] * 3
    mails = [m for m in mail_sink.messages if case["id"] in str(m["Subject"])]
    assert len(mails) == 1 and str(mails[0]["Message-ID"]) in mail_sink.resends
    async with httpx.AsyncClient(base_url=sms_gateway) as gateway:
        texts = [t for t in (await gateway.get("/messages")).json() if case["id"] in t["text"]]
    assert len(texts) == 1
    assert [p["document"]["number"] for p in accepted] == [f"{case['id']}/N1"]

    # A relay that takes the message but answers after SMTP_TIMEOUT_SECONDS: the retry
    # carries the same Message-ID, so the office gets one message.
    hasty = settings.model_copy(update={"smtp_timeout_seconds": 0.5})
    notice = StaffNotice(
        audit_id=case["id"],
        customs_office="55201",
        inspector_id="I-001",
        topic="relay-test",
        subject="Slow relay",
        body="one copy only",
    )
    mail_sink.answer_late(2)
    with pytest.raises(OSError):  # the timeout; Temporal would retry the activity
        await run_activity(EmailActivities(engine, hasty).notify_staff, notice)
    await asyncio.sleep(2)
    await asyncio.to_thread(
        ActivityEnvironment().run, EmailActivities(engine, hasty).notify_staff, notice
    )
    slow = [m for m in mail_sink.messages if "Slow relay" in str(m["Subject"])]
    assert len(slow) == 1 and str(slow[0]["Message-ID"]) in mail_sink.resends


async def test_alerts_are_retried_for_hours_then_given_up(
    api: httpx.AsyncClient, engine: Engine, settings: Settings, sms_gateway: str
) -> None:
    """A gateway down for an hour is retried (the error is retryable); past ALERT_RETRY_HOURS
    since the first try the worker gives up for good and the channel is reported failed."""
    request = sms_request(next_audit_id())
    sms = SmsActivities(engine, settings)
    first = first_try().info
    async with httpx.AsyncClient(base_url=sms_gateway) as gateway:
        await gateway.post("/faults", json={"mode": "fail", "times": 2})
        an_hour_in = ActivityEnvironment()
        an_hour_in.info = dataclasses.replace(
            first, attempt=12, scheduled_time=datetime.now(UTC) - timedelta(hours=1)
        )
        with pytest.raises(httpx.HTTPStatusError):
            await asyncio.to_thread(an_hour_in.run, sms.send_sms_alert, request)
        a_day_in = ActivityEnvironment()
        a_day_in.info = dataclasses.replace(
            first, attempt=150, scheduled_time=datetime.now(UTC) - timedelta(hours=25)
        )
        with pytest.raises(ApplicationError) as gave_up:
            await asyncio.to_thread(a_day_in.run, sms.send_sms_alert, request)
    assert gave_up.value.non_retryable and gave_up.value.type == "DeliveryGaveUp"
    assert "gave up after 1 day" in gave_up.value.message


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
