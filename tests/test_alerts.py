"""Alerts reach the party through every channel, with real servers on loopback: the
aiosmtpd sink, the local SMS gateway told to fail, and a webhook receiver that verifies;
retries, resends and giving up."""

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.email import EmailActivities
from activities.sms import SmsActivities
from activities.webhook import WebhookActivities
from activities.webhook_targets import address_problem
from config import Settings
from db.models import DeliveryAttemptRow, DocumentRow
from devsinks.mail import MailSink
from domain.case import Party
from domain.notices import DocumentKind
from domain.tasks import AlertRequest, RenderedDocument, StaffNotice
from tests.cases import started
from tests.conftest import serving
from tests.deliveries import (
    SECRET,
    alerts_done,
    attempts,
    eventually,
    first_try,
    party,
    run_activity,
    sms_request,
    until_event,
)
from tests.factories import PARTY_BIN, explanation_body, next_audit_id
from tests.pages import signed_in
from tests.receivers import create_receiver


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


async def test_the_case_shows_an_alert_being_retried_until_it_goes_out(
    api: httpx.AsyncClient, sms_gateway: str
) -> None:
    """Retries may go on for hours: meanwhile the case says which alert is still being
    tried, since when and why, so the inspector can phone the party instead of waiting."""
    async with httpx.AsyncClient(base_url=sms_gateway) as gateway:
        await gateway.post("/faults", json={"mode": "fail", "times": 4})
        case = await started(api)

        async def retrying() -> list[dict[str, Any]]:
            snapshot = (await api.get(f"/audits/{case['id']}")).json()
            pending: list[dict[str, Any]] = snapshot["alerts_retrying"]
            return pending

        pending = await eventually(retrying, timeout=30)
        assert [(p["channel"], p["document"]) for p in pending] == [("sms", f"{case['id']}/N1")]
        assert "503" in pending[0]["detail"] and pending[0]["since"]
        inspector = await signed_in(str(api.base_url), "inspector")
        page = (await inspector.get(f"/dashboard/audits/{case['id']}")).text
        await inspector.aclose()
        assert f"SMS alert for {case['id']}/N1 has been retried since" in page
        done = await alerts_done(api, case["id"])
    assert done["alerts_retrying"] == [] and attempts(done, "sms")[-1] == "sent"
    assert attempts(done, "sms").count("temporary-failure") == 4
    assert any(e["kind"] == "alert_retrying" for e in done["events"])


async def test_a_channel_that_went_out_is_not_shown_as_retrying_while_another_still_is(
    api: httpx.AsyncClient, sms_gateway: str
) -> None:
    """The webhook's receiver is down for one try, the SMS gateway for much longer: the case
    records the webhook as sent (and no longer being retried) as soon as it is, not when
    the SMS finally goes out."""
    app, accepted = create_receiver(SECRET, fail_first=1)
    async with serving(app) as receiver, httpx.AsyncClient(base_url=sms_gateway) as gateway:
        registered = await api.put(
            f"/parties/{PARTY_BIN}/webhook", json={"url": f"{receiver}/hook", "secret": SECRET}
        )
        assert registered.status_code == 200
        await gateway.post("/faults", json={"mode": "fail", "times": 7})
        case = await started(api)

        async def webhook_out_sms_still_trying() -> dict[str, Any] | None:
            snapshot: dict[str, Any] = (await api.get(f"/audits/{case['id']}")).json()
            pending = {p["channel"] for p in snapshot["alerts_retrying"]}
            done = attempts(snapshot, "webhook")[-1:] == ["sent"]
            return snapshot if done and pending == {"sms"} else None

        seen = await eventually(webhook_out_sms_still_trying, timeout=20)
        await gateway.delete("/faults")
    assert seen is not None, "the webhook's outcome waited for the SMS"
    assert len(accepted) == 1
