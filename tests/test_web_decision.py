"""The pages after a decision recognising the notification unfulfilled, on the time-skipping
server (the decision is served on the next working day, the appeal period runs out): the
party appeals from its cabinet, staff record the outcome, a supervisor revokes a decision a
late-posted payment shows was wrong, and an explanation is accepted in part. Each refusal
reads next to its form, in the reader's language."""

import asyncio
import re
from datetime import timedelta
from typing import Any

import httpx
from temporalio.client import WorkflowHandle

from domain.case import CaseSnapshot, Payment
from domain.clock import end_of_day
from domain.lifecycle import AuditStatus
from tests.cases import decided, start_case, until_after_decision, wait_for
from tests.factories import AMOUNT_DUE, audit_start, explanation_for, review_order
from tests.pages import TimeSite, post_form, signed_in, time_site
from workflows.cameral_audit import CameralAudit

__all__ = ["time_site"]
PDF = b"%PDF-1.4\n% complaint\n%%EOF\n"
SECOND = "55201/060326/0004321"


def error_of(html: str, field: str) -> str:
    found = re.search(rf'id="e-{field}">([^<]*)<', html)
    assert found is not None, f"no refusal next to {field}"
    return found[1]


def banners(html: str) -> list[str]:
    return re.findall(r'<p class="error banner" role="alert">([^<]*)</p>', html)


async def awaiting_signature(handle: WorkflowHandle[Any, Any]) -> CaseSnapshot:
    for _ in range(100):
        case: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        if case.awaiting == "hand_signature":
            return case
        await asyncio.sleep(0.1)
    raise AssertionError("the documents were never prepared for handing over")


async def in_language(client: httpx.AsyncClient, language: str, page: str) -> str:
    await client.get("/language", params={"lang": language, "next": page})
    return (await client.get(page)).text


async def test_the_party_appeals_and_an_inspector_records_the_outcome(time_site: TimeSite) -> None:
    handle, case = await time_site.decided()
    after = case.after_decision
    assert after is not None and after.appeal_deadline is not None
    party = await signed_in(time_site.url, "party")
    inspector = await signed_in(time_site.url, "inspector")
    cabinet, dashboard = f"/cabinet/audits/{case.id}", f"/dashboard/audits/{case.id}"
    try:
        page = await in_language(party, "en", cabinet)
        assert "Decision on the notification" in page and f"{case.id}/D1" in page
        assert "Pay the debt" in page and "Beneficiary" in page  # owed, with the details
        assert 'action="/cabinet/audits/' in page and 'id="appeal-h"' in page
        assert page.count('id="upload-h"') == 1  # the upload form, once, for the appeal

        nothing = await post_form(
            party, cabinet, f"{cabinet}/appeal", {"authority": "court", "grounds": "Unlawful."}
        )
        assert nothing.status_code == 422
        assert error_of(nothing.text, "appeal-documents") == "this field is required"
        assert 'id="ap-court" name="authority" value="court" checked' in nothing.text

        sent = await post_form(
            party,
            cabinet,
            f"{cabinet}/uploads",
            {"title": "Complaint to the higher body", "kind": "other"},
            files={"file": ("complaint.pdf", PDF, "application/pdf")},
        )
        assert sent.status_code == 303, sent.text
        page = (await party.get(cabinet)).text
        document = re.search(r'id="ap-doc-[^"]+" name="documents" value="([^"]+)"', page)
        assert document is not None
        filed = await post_form(
            party,
            cabinet,
            f"{cabinet}/appeal",
            {
                "authority": "higher_authority",
                "grounds": "The price was proven by the contract.",
                "documents": document[1],
            },
        )
        assert filed.status_code == 303, filed.text
        page = (await party.get(filed.headers["location"])).text
        assert "Your appeal was filed" in page and "Appealed" in page
        assert "Higher state revenue body" in page and 'id="appeal-h"' not in page
        russian = await in_language(party, "ru", cabinet)
        assert "Обжаловано" in russian and "Вышестоящий орган государственных доходов" in russian

        board = (await inspector.get("/dashboard")).text
        assert re.search(rf"Appeal to record</strong> <a href=\"{dashboard}\">", board)
        staff_page = (await inspector.get(dashboard)).text
        assert "Record the appeal&#39;s outcome" in staff_page
        assert "The price was proven by the contract." in staff_page  # the grounds, for staff
        unnamed = await post_form(
            inspector,
            dashboard,
            f"{dashboard}/actions/appeal_outcome",
            {"outcome": "reduced", "reasons": "Part of the price proven."},
        )
        assert unnamed.status_code == 422
        assert "give charges when" in error_of(unnamed.text, "appeal_outcome-charges")
        higher = await post_form(
            inspector,
            dashboard,
            f"{dashboard}/actions/appeal_outcome",
            {"outcome": "reduced", "reasons": "Ruling R-1", "charges-customs_duty": "999999999"},
        )
        assert higher.status_code == 422
        assert "cannot raise a charge" in error_of(higher.text, "appeal_outcome-charges")
        upheld = await post_form(
            inspector,
            dashboard,
            f"{dashboard}/actions/appeal_outcome",
            {"outcome": "upheld", "reasons": "The contract price was not paid."},
        )
        assert upheld.status_code == 303, upheld.text
        staff_page = (await inspector.get(upheld.headers["location"])).text
        assert "The appeal&#39;s outcome was recorded." in staff_page
        assert "Decision upheld" in staff_page and "Decided unfulfilled" in staff_page
        assert "Record the appeal&#39;s outcome" not in staff_page
        russian = (await party.get(cabinet)).text
        assert "Решение оставлено в силе" in russian
        assert case.id not in (await inspector.get("/dashboard")).text.split('id="board-h"')[0]
    finally:
        for client in (party, inspector):
            await client.aclose()
    after_appeal = (await handle.query(CameralAudit.snapshot)).after_decision
    assert after_appeal is not None and after_appeal.appeal_outcome == "upheld"
    assert after_appeal.final_on is not None


async def test_an_appeal_after_the_period_is_refused_in_the_readers_language(
    time_site: TimeSite,
) -> None:
    handle, case = await time_site.decided()
    after = case.after_decision
    assert after is not None and after.appeal_deadline is not None
    party = await signed_in(time_site.url, "party")
    cabinet = f"/cabinet/audits/{case.id}"
    try:
        sent = await post_form(
            party,
            cabinet,
            f"{cabinet}/uploads",
            {"title": "Complaint", "kind": "other"},
            files={"file": ("complaint.pdf", PDF, "application/pdf")},
        )
        assert sent.status_code == 303, sent.text
        page = (await party.get(cabinet)).text  # a Russian case: the page is in Russian
        document = re.search(r'id="ap-doc-[^"]+" name="documents" value="([^"]+)"', page)
        assert document is not None
        now = await time_site.env.get_current_time()
        await time_site.env.sleep(end_of_day(after.appeal_deadline) - now + timedelta(minutes=5))
        await until_after_decision(handle, "final_on")
        page = (await party.get(cabinet)).text
        assert 'id="appeal-h"' not in page and "Решение окончательно" in page
        late = {"authority": "higher_authority", "grounds": "Late.", "documents": document[1]}
        refused = await post_form(party, cabinet, f"{cabinet}/appeal", late)
        assert refused.status_code == 409
        (message,) = banners(refused.text)
        assert message.startswith("срок обжалования истёк"), message
        assert str(after.appeal_deadline.year) in message
        english = await in_language(party, "en", cabinet)
        assert "Decision final" in english
        refused = await post_form(party, cabinet, f"{cabinet}/appeal", late)
        assert banners(refused.text)[0].startswith("the appeal period ended on")
    finally:
        await party.aclose()
    assert (await handle.query(CameralAudit.snapshot)).status == AuditStatus.UNFULFILLED


async def test_a_supervisor_revokes_a_flagged_decision_and_an_inspector_cannot(
    time_site: TimeSite,
) -> None:
    handle, case = await time_site.decided()
    assert case.response_deadline is not None
    on_time = Payment(reference="ON-TIME", amount=AMOUNT_DUE, paid_at=case.response_deadline)
    await handle.execute_update(CameralAudit.record_payment, on_time)
    await until_after_decision(handle, "debt_settled_on")
    inspector = await signed_in(time_site.url, "inspector")
    boss = await signed_in(time_site.url, "supervisor")
    party = await signed_in(time_site.url, "party")
    dashboard = f"/dashboard/audits/{case.id}"
    try:
        for client in (inspector, boss):
            board = (await client.get("/dashboard")).text
            assert re.search(rf'Revocation proposed</strong> <a href="{dashboard}">', board)
        page = (await inspector.get(dashboard)).text
        assert "Whether to revoke the decision is for a supervisor to decide." in page
        assert 'id="a-revocation-h"' not in page
        refused = await post_form(
            inspector, dashboard, f"{dashboard}/actions/revocation", {"decision": "revoke"}
        )
        assert refused.status_code == 403
        assert banners(refused.text) == ["only a supervisor can revoke a decision"]
        page = (await boss.get(dashboard)).text
        assert 'id="a-revocation-h"' in page
        unexplained = await post_form(
            boss, dashboard, f"{dashboard}/actions/revocation", {"decision": "keep"}
        )
        assert unexplained.status_code == 422
        assert "reasons are required" in error_of(unexplained.text, "revocation-reasons")
        revoked = await post_form(
            boss,
            dashboard,
            f"{dashboard}/actions/revocation",
            {"decision": "revoke", "reasons": "Paid on the last day; posted late."},
        )
        assert revoked.status_code == 303, revoked.text
        page = (await boss.get(revoked.headers["location"])).text
        assert "Fulfilled (paid)" in page and f"{case.id}/V1" in page
        assert "Paid on the last day; posted late." in page
        assert "Revocation proposed</strong>" not in (await boss.get("/dashboard")).text
        cabinet = await in_language(party, "en", f"/cabinet/audits/{case.id}")
        assert "Decision revoked" in cabinet and f"{case.id}/V1" in cabinet
        assert 'id="appeal-h"' not in cabinet and "Pay the debt" not in cabinet
    finally:
        for client in (inspector, boss, party):
            await client.aclose()
    assert (await handle.query(CameralAudit.snapshot)).status == AuditStatus.FULFILLED


async def test_accept_in_part_from_the_dashboard(time_site: TimeSite) -> None:
    first = audit_start().declarations[0]
    handle, case = await time_site.case(declarations=[first, SECOND])
    inspector = await signed_in(time_site.url, "inspector")
    party = await signed_in(time_site.url, "party")
    dashboard = f"/dashboard/audits/{case.id}"
    try:
        page = (await inspector.get(dashboard)).text
        assert 'value="accept_in_part"' in page and f'name="accepted" value="{SECOND}"' in page
        assert 'id="f-review-charges-customs_duty"' in page  # typed charges: give what is owed
        stranger = {
            "decision": "accept_in_part",
            "accepted": "55201/010101/0000000",
            "reasons": "The rest is not proven.",
            "charges-customs_duty": "100000.00",
        }
        refused = await post_form(inspector, dashboard, f"{dashboard}/actions/review", stranger)
        assert refused.status_code == 422
        assert error_of(refused.text, "review-accepted") == (
            "55201/010101/0000000 is not a declaration of this notification"
        )
        russian = await in_language(inspector, "ru", dashboard)
        assert "Принять частично" in russian
        refused = await post_form(inspector, dashboard, f"{dashboard}/actions/review", stranger)
        assert error_of(refused.text, "review-accepted").startswith("55201/010101/0000000 не ")
        await in_language(inspector, "en", dashboard)
        accepted = await post_form(
            inspector,
            dashboard,
            f"{dashboard}/actions/review",
            {**stranger, "accepted": first},
        )
        assert accepted.status_code == 303, accepted.text
        page = (await inspector.get(accepted.headers["location"])).text
        shown = re.search(r'id="in-part-h".*?</dl>', page, re.S)
        assert shown is not None and first in shown[0] and SECOND in shown[0]
        assert shown[0].index(first) < shown[0].index("Declarations not accepted")
        assert shown[0].index(SECOND) > shown[0].index("Declarations not accepted")
        cabinet = await in_language(party, "en", f"/cabinet/audits/{case.id}")
        assert "Explanation accepted in part" in cabinet
    finally:
        for client in (inspector, party):
            await client.aclose()
    snapshot = await handle.query(CameralAudit.snapshot)
    assert snapshot.status == AuditStatus.UNFULFILLED
    assert snapshot.accepted_declarations == [first]
    assert snapshot.charges is not None and str(snapshot.charges.total) == "100000.00"


async def test_documents_handed_over_are_signed_for_from_the_dashboard(
    time_site: TimeSite,
) -> None:
    """By hand: the notification's and then the decision's signature are recorded on the
    case page; until the decision's is, its appeal period is said to count from it."""
    start = audit_start(delivery_method="hand")
    handle = await start_case(time_site.env.client, time_site.queue, start)
    inspector = await signed_in(time_site.url, "inspector")
    party = await signed_in(time_site.url, "party")
    dashboard, cabinet = f"/dashboard/audits/{start.audit_id}", f"/cabinet/audits/{start.audit_id}"
    try:
        case = await awaiting_signature(handle)
        page = (await inspector.get(dashboard)).text
        assert "Record the representative&#39;s signature" in page
        signed = await post_form(
            inspector,
            dashboard,
            f"{dashboard}/actions/hand_signature",
            {"delivered_on": case.issued_on.isoformat(), "receipt_no": "H-1"},
        )
        assert signed.status_code == 303, signed.text
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
        await handle.execute_update(
            CameralAudit.review, review_order(decision="reject", reasons="Not proven.")
        )
        case = await decided(time_site.env, handle)
        after = case.after_decision
        assert after is not None and after.awaiting_receipt == "hand_signature"
        page = await in_language(party, "en", cabinet)
        assert "Awaiting the representative&#39;s signature" in page
        assert "counted from the day after the decision is served" in page
        assert 'id="appeal-h"' in page  # the rules take an appeal before the period counts
        assert after.decided_on is not None
        signed = await post_form(
            inspector,
            dashboard,
            f"{dashboard}/actions/hand_signature",
            {"delivered_on": after.decided_on.isoformat(), "receipt_no": "H-2"},
        )
        assert signed.status_code == 303, signed.text
        case = await until_after_decision(handle, "appeal_deadline")
        assert case.after_decision is not None
        assert case.after_decision.delivered_on == after.decided_on
        page = (await party.get(cabinet)).text
        assert "Awaiting the representative" not in page and "(24:00 Almaty time)" in page
    finally:
        for client in (inspector, party):
            await client.aclose()
