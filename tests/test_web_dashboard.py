"""The inspector's dashboard over HTTP: the start form, the board's filters, and the actions
of a case page, each refusal next to its field."""

import re

from config import Settings
from tests.cases import until
from tests.factories import PARTY_BIN, start_body
from tests.pages import api_client, hidden, hidden_value, post_form, signed_in, site

__all__ = ["site"]
LINE = {
    "lines-0-declaration": "55201/010525/0000001",
    "lines-0-registered_on": "2025-05-01",
    "lines-0-currency": "USD",
    "lines-0-exchange_rate": "420",
    "lines-0-duty_rate_percent": "15",
    "lines-0-declared_price": "8000",
    "lines-0-adjusted_price": "10000",
    "lines-0-adjusted_transport": "500",
    "lines-0-customs_fee_kzt": "20000",
}
START_FORM = {
    "party_bin": PARTY_BIN,
    "party_name": "Steppe Fittings LLP",
    "party_address": "Almaty, Abay ave. 1",
    "party_language": "ru",
    "declarations": "55201/010525/0000001",
    "findings": "Declared price below similar goods.",
    "delivery_method": "cabinet",
    **LINE,
}


async def test_start_form_errors_per_field_and_starts_with_worked_out_charges(
    site: str, settings: Settings
) -> None:
    inspector = await signed_in(site, "inspector")
    try:
        bad = await post_form(
            inspector,
            "/dashboard/audits/new",
            "/dashboard/audits/new",
            {**START_FORM, "party_bin": "123", "lines-0-declared_price": "abc"},
        )
        assert bad.status_code == 422
        assert 'id="e-party_bin"' in bad.text and 'id="e-lines-0-declared_price"' in bad.text
        board = await inspector.get("/dashboard")
        assert "No cases match" in board.text
        page = await inspector.get("/dashboard/audits/new")
        preview = await inspector.post(
            "/dashboard/audits/new/preview",
            data={"csrf": hidden(page.text, "csrf"), **LINE},
        )
        assert preview.status_code == 200 and "Total" in preview.text
        form = {
            "csrf": hidden(page.text, "csrf"),
            "idempotency_key": hidden(page.text, "idempotency_key"),
            **START_FORM,
            "action": "start",
        }
        started = await inspector.post("/dashboard/audits/new", data=form)
        assert started.status_code == 303, started.text
        again = await inspector.post("/dashboard/audits/new", data=form)  # a double click
        assert again.headers["location"] == started.headers["location"]
        case_page = await inspector.get(started.headers["location"])
        assert "http://localhost:8233/namespaces/default/workflows/CA-" in case_page.text
        assert "Review the explanation" not in case_page.text  # nothing to review yet
        assert "Cancel the audit" not in case_page.text  # a supervisor's action
        board = await inspector.get("/dashboard")
        assert board.text.count("/dashboard/audits/CA-") == 1
        assert "<svg" in board.text and "Open cases by status" in board.text
    finally:
        await inspector.aclose()


async def test_board_filters_refuse_bad_values_by_name(site: str) -> None:
    inspector = await signed_in(site, "inspector")
    try:
        reply = await inspector.get("/dashboard?party_bin=12&deadline_from=tomorrow&status=X")
        assert reply.status_code == 422
        for name in ("party_bin", "deadline_from", "status"):
            assert f'id="e-{name}"' in reply.text
    finally:
        await inspector.aclose()


async def test_review_request_and_cancel_through_the_dashboard(
    site: str, settings: Settings
) -> None:
    """Staff actions from the case page: refusals next to the field, a document request the
    party answers from its cabinet, and a supervisor's cancellation."""
    async with api_client(site, settings, "supervisor") as supervisor:
        audit_id = (await supervisor.post("/audits", json=start_body())).json()["id"]
        await until(supervisor, audit_id, "AWAITING_RESPONSE")
    party = await signed_in(site, "party")
    inspector = await signed_in(site, "inspector")
    boss = await signed_in(site, "supervisor")
    cabinet, case = f"/cabinet/audits/{audit_id}", f"/dashboard/audits/{audit_id}"
    try:
        page = await party.get(cabinet)
        notice = re.search(rf'href="{cabinet}/documents/([^"]+)"', page.text)
        assert notice is not None
        download = await party.get(f"{cabinet}/documents/{notice[1]}/file?download=1")
        assert download.headers["content-disposition"].startswith("attachment;")
        assert len(download.headers["x-content-sha256"]) == 64
        signed = re.search(rf'href="({cabinet}/documents/[^"]+/pdf)"', page.text)
        assert signed is not None  # the cabinet offers the signed PDF of each notice
        pdf = await party.get(signed[1])
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert pdf.headers["content-type"] == "application/pdf"
        upload = await post_form(
            party,
            cabinet,
            f"{cabinet}/uploads",
            {"title": "Contract", "kind": "contract"},
            files={"file": ("contract.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        )
        assert upload.status_code == 303
        page = await party.get(cabinet)
        document_id = re.search(r'name="documents" value="([^"]+)"', page.text)
        assert document_id is not None
        explained = await post_form(
            party,
            cabinet,
            f"{cabinet}/explanation",
            {
                "party_name": "Steppe Fittings LLP",
                "party_bin": PARTY_BIN,
                "party_address": "Almaty",
                "customs_authority": "55201",
                "notification_number": audit_id,
                "notification_date": hidden_value(page.text, "notification_date"),
                "text": "The price is the contract price.",
                "grounds": "Art. 39",
                "signed_on": hidden_value(page.text, "signed_on"),
                "documents": document_id[1],
            },
        )
        assert explained.status_code == 303, explained.text
        reject = await post_form(
            inspector, case, f"{case}/actions/review", {"decision": "reject", "reasons": ""}
        )
        assert reject.status_code == 422 and 'id="e-review-reasons"' in reject.text
        asked = await post_form(
            inspector,
            case,
            f"{case}/actions/request_documents",
            {"items": "Bank statement\nSWIFT message", "working_days": "5"},
        )
        assert asked.status_code == 303
        page = await party.get(cabinet)
        assert "Bank statement" in page.text
        request_form = re.search(rf'action="{cabinet}/requests/([^"]+)"', page.text)
        assert request_form is not None
        answered = await post_form(
            party,
            cabinet,
            f"{cabinet}/requests/{request_form[1]}",
            {"documents": document_id[1], "note": "As asked."},
        )
        assert answered.status_code == 303
        assert "Bank statement" not in (await party.get(cabinet)).text
        assert "Cancel the audit" not in (await inspector.get(case)).text
        assert (
            await post_form(inspector, case, f"{case}/actions/cancel", {"reason": "x"})
        ).status_code == 403
        cancelled = await post_form(
            boss, case, f"{case}/actions/cancel", {"reason": "Withdrawn after a recount."}
        )
        assert cancelled.status_code == 303
        assert "Nothing can be done to this case now." in (await boss.get(case)).text
        assert "Withdrawn after a recount." in (await party.get(cabinet)).text
    finally:
        for client in (party, inspector, boss):
            await client.aclose()


async def test_registered_mail_case_offers_postal_actions_with_distinct_fields(
    site: str, settings: Settings
) -> None:
    body = start_body(
        delivery_method="registered_mail",
        party={**start_body()["party"], "address": "Almaty, Abay ave. 1"},
    )
    async with api_client(site, settings, "supervisor") as supervisor:
        audit_id = (await supervisor.post("/audits", json=body)).json()["id"]
        await until(supervisor, audit_id, "postal_receipt", field="awaiting")
    boss = await signed_in(site, "supervisor")
    try:
        page = (await boss.get(f"/dashboard/audits/{audit_id}")).text
        for offered in ("Record the postal receipt", "Record returned mail", "Cancel the audit"):
            assert offered in page
        assert "Review the explanation" not in page
        ids = re.findall(r'\sid="([^"]+)"', page)
        assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
        refused = await post_form(
            boss,
            f"/dashboard/audits/{audit_id}",
            f"/dashboard/audits/{audit_id}/actions/postal_receipt",
            {"delivered_on": "2020-01-01", "receipt_no": "RR123"},
        )
        assert refused.status_code == 422
        assert 'id="e-postal_receipt-delivered_on"' in refused.text
    finally:
        await boss.aclose()


async def test_input_checks_read_in_the_page_language(site: str) -> None:
    """Pydantic's checks and the domain's own input rules, next to their fields in Kazakh
    and Russian: no English sentence reaches a kk or ru page."""
    inspector = await signed_in(site, "inspector")
    try:
        expected = {
            "kk": ("БСН/ЖСН дәл 12 цифрдан тұруы керек", "сан қажет, мысалы 1250.50"),
            "ru": ("БИН/ИИН должен состоять ровно из 12 цифр", "нужно число, например 1250.50"),
        }
        for language, (bin_text, number_text) in expected.items():
            await inspector.get("/language", params={"lang": language, "next": "/dashboard"})
            bad = await post_form(
                inspector,
                "/dashboard/audits/new",
                "/dashboard/audits/new",
                {
                    **START_FORM,
                    "party_bin": "123",
                    "findings": "",
                    "lines-0-declared_price": "abc",
                    "lines-0-registered_on": "1901-01-01",
                },
            )
            assert bad.status_code == 422
            shown = dict(re.findall(r'id="e-([\w-]+)">([^<]*)<', bad.text))
            assert shown["party_bin"] == bin_text
            assert shown["lines-0-declared_price"] == number_text
            assert shown["findings"] != "this field is required", shown
            assert not [m for m in shown.values() if re.search(r"\b(the|is|must|should)\b", m)]
    finally:
        await inspector.aclose()
