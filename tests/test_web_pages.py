"""The browser pages over HTTP: sessions, access rules, CSRF, forms refusing bad input next to
the field and changing nothing, and the catalogues covering every page string."""

import re
import time
from pathlib import Path

import httpx
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from config import Settings
from tests.cases import until
from tests.factories import PARTY_BIN, make_bin, start_body
from tests.pages import hidden, post_form, signed_in, site
from tests.pki import Identity, make_signer
from tests.tokens import FOREIGN_OFFICE, Tokens

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


def api_client(url: str, settings: Settings, role: str, **claims: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=url, timeout=30, headers=Tokens(settings).header(role, **claims)
    )


async def test_pages_need_a_session_and_come_back_after_sign_in(site: str) -> None:
    async with httpx.AsyncClient(base_url=site) as anonymous:
        for path in ("/cabinet", "/dashboard", "/dashboard/audits/CA-2026-000001", "/"):
            reply = await anonymous.get(path)
            assert reply.status_code == 303
            assert reply.headers["location"].startswith("/sign-in")
        reply = await anonymous.get("/dashboard?status=UNDER_REVIEW")
        assert reply.headers["location"] == "/sign-in?next=%2Fdashboard%3Fstatus%3DUNDER_REVIEW"
        page = await anonymous.get("/sign-in")
        reply = await anonymous.post(
            "/sign-in",
            data={
                "identity": "inspector",
                "token": hidden(page.text, "token"),
                "next": "/dashboard?status=UNDER_REVIEW",
            },
        )
        assert reply.headers["location"] == "/dashboard?status=UNDER_REVIEW"
        cookie = reply.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert (await anonymous.get("/")).headers["location"] == "/dashboard"
        board = await anonymous.get("/dashboard")
        out = await anonymous.post("/sign-out", data={"csrf": hidden(board.text, "csrf")})
        assert out.status_code == 303 and out.headers["location"] == "/sign-in"
        assert (await anonymous.get("/dashboard")).status_code == 303  # signed out
        # A sign-in form token from another browser (no matching cookie) is refused.
        stranger = httpx.AsyncClient(base_url=site)
        refused = await stranger.post(
            "/sign-in", data={"identity": "operator", "token": hidden(page.text, "token")}
        )
        assert refused.status_code == 403
        await stranger.aclose()


async def test_an_expired_session_returns_to_sign_in_and_back(
    site: str, settings: Settings
) -> None:
    class TenHoursAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 10 * 3600

    async with httpx.AsyncClient(base_url=site) as client:
        await client.get("/sign-in")  # the app has made its secret by now
    secret = (settings.data_dir / "web-session-secret").read_text().strip()
    old = URLSafeTimedSerializer(secret, salt="customs-audit-web", signer=TenHoursAgo).dumps(
        {"sub": "I-001", "role": "inspector", "office": "55201", "bin": None, "csrf": "x"}
    )
    async with httpx.AsyncClient(base_url=site, cookies={"ca_session": old}) as client:
        reply = await client.get("/dashboard")
    assert reply.status_code == 303
    assert reply.headers["location"] == "/sign-in?next=%2Fdashboard&expired=1"


async def test_party_and_office_isolation_answer_404(site: str, settings: Settings) -> None:
    other_bin = make_bin("07114000123")
    async with (
        api_client(site, settings, "supervisor") as supervisor,
        api_client(site, settings, "supervisor", office=FOREIGN_OFFICE, sub="S-9") as foreign,
    ):
        own = (await supervisor.post("/audits", json=start_body())).json()["id"]
        other_party = (
            await supervisor.post(
                "/audits", json=start_body(party={**start_body()["party"], "bin": other_bin})
            )
        ).json()["id"]
        other_office = (
            await foreign.post(
                "/audits", json=start_body(customs_office=FOREIGN_OFFICE, inspector_id="I-9")
            )
        ).json()["id"]
    party = await signed_in(site, "party")
    inspector = await signed_in(site, "inspector")
    try:
        assert (await party.get(f"/cabinet/audits/{own}")).status_code == 200
        assert (await party.get(f"/cabinet/audits/{other_party}")).status_code == 404
        assert (await party.get("/cabinet/audits/CA-2026-999999")).status_code == 404
        assert (await party.get(f"/dashboard/audits/{own}")).status_code == 403
        listing = (await party.get("/cabinet")).text
        assert own in listing and other_party not in listing
        assert (await inspector.get(f"/dashboard/audits/{own}")).status_code == 200
        assert (await inspector.get(f"/dashboard/audits/{other_office}")).status_code == 404
        assert other_office not in (await inspector.get("/dashboard")).text
    finally:
        await party.aclose()
        await inspector.aclose()


async def test_forms_refuse_without_csrf_and_next_to_the_field(
    site: str, settings: Settings
) -> None:
    async with api_client(site, settings, "supervisor") as supervisor:
        audit_id = (await supervisor.post("/audits", json=start_body())).json()["id"]
        await until(supervisor, audit_id, "AWAITING_RESPONSE")
    party = await signed_in(site, "party")
    page = f"/cabinet/audits/{audit_id}"
    try:
        no_token = await party.post(f"{page}/explanation", data={"text": "x"})
        assert no_token.status_code == 403
        wrong = await post_form(
            party,
            page,
            f"{page}/explanation",
            {
                "party_name": "Steppe Fittings LLP",
                "party_bin": PARTY_BIN,
                "party_address": "Almaty",
                "customs_authority": "55201",
                "notification_number": "CA-2026-000000",
                "notification_date": "2026-01-05",
                "text": "We disagree.",
                "grounds": "Art. 417",
                "signed_on": "2026-01-05",
                "no_documents_reason": "The contract is already on file.",
            },
        )
        assert wrong.status_code == 422
        assert re.search(r'id="e-notification_number">[^<]*notification says', wrong.text)
        assert 'id="f-notification_number"' in wrong.text and 'aria-invalid="true"' in wrong.text
        no_file = await post_form(party, page, f"{page}/uploads", {"title": "Invoice"})
        assert no_file.status_code == 422 and 'id="e-file"' in no_file.text
        async with api_client(site, settings, "operator") as operator:
            case = (await operator.get(f"/audits/{audit_id}")).json()
            uploads = (await operator.get(f"/audits/{audit_id}/documents")).json()
        assert case["status"] == "AWAITING_RESPONSE"
        assert not [d for d in uploads if d["source"] == "uploaded"]
    finally:
        await party.aclose()


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


async def test_language_defaults_to_the_case_and_the_choice_is_remembered(
    site: str, settings: Settings
) -> None:
    async with api_client(site, settings, "supervisor") as supervisor:
        body = start_body(party={**start_body()["party"], "language": "kk"})
        audit_id = (await supervisor.post("/audits", json=body)).json()["id"]
        await until(supervisor, audit_id, "AWAITING_RESPONSE")
    party = await signed_in(site, "party")
    try:
        page = await party.get(f"/cabinet/audits/{audit_id}")
        assert '<html lang="kk">' in page.text and "Түсініктемені беру" in page.text
        chosen = await party.get("/language", params={"lang": "en", "next": "/cabinet"})
        assert chosen.headers["location"] == "/cabinet"
        page = await party.get(f"/cabinet/audits/{audit_id}")
        assert '<html lang="en">' in page.text and "Submit the explanation" in page.text
        away = await party.get("/language", params={"lang": "ru", "next": "//elsewhere.test/"})
        assert away.headers["location"] == "/"  # never a redirect off the site
        page = await party.get("/cabinet")
        assert "Мои дела" in page.text
    finally:
        await party.aclose()


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


def hidden_value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" type="[a-z]+" value="([^"]*)"', html)
    assert found is not None, name
    return found[1]


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


async def test_upload_with_a_detached_signature_shows_its_check(
    site: str, settings: Settings, national_ca: tuple[Identity, Path]
) -> None:
    """The signature file belongs to the file of the same form, whatever it is called."""
    pdf = b"%PDF-1.4\n% contract\n%%EOF\n"
    signer = make_signer(national_ca[0], bin_=PARTY_BIN)
    async with api_client(site, settings, "supervisor") as supervisor:
        audit_id = (await supervisor.post("/audits", json=start_body())).json()["id"]
        await until(supervisor, audit_id, "AWAITING_RESPONSE")
    party = await signed_in(site, "party")
    cabinet = f"/cabinet/audits/{audit_id}"
    try:
        reply = await post_form(
            party,
            cabinet,
            f"{cabinet}/uploads",
            {"title": "Signed contract", "kind": "contract"},
            files={
                "file": ("contract.pdf", pdf, "application/pdf"),
                "signature": ("from-my-token.sig", signer.sign(pdf), "application/octet-stream"),
            },
        )
        assert reply.status_code == 303, reply.text
        page = (await party.get(cabinet)).text
        assert "Signed contract" in page and "✔ Подпись действительна" in page  # a ru case
    finally:
        await party.aclose()
