"""The party's cabinet over HTTP: forms refusing bad input next to the field (in the page's
language) and changing nothing, the language of the pages, and uploads with a detached
signature."""

import re
from pathlib import Path

from config import Settings
from tests.cases import until
from tests.factories import PARTY_BIN, explanation_body, start_body
from tests.pages import api_client, post_form, signed_in, site
from tests.pki import Identity, make_signer

__all__ = ["site"]


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
        assert wrong.status_code == 422  # the case is in Russian, and so is the refusal
        assert re.search(r'id="e-notification_number">[^<]*а в уведомлении', wrong.text)
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


async def test_a_refusal_of_the_case_reads_in_the_page_language(
    site: str, settings: Settings
) -> None:
    """The case's own refusal, with its dates, in Russian; the API keeps its English."""
    async with api_client(site, settings, "supervisor") as supervisor:
        audit_id = (await supervisor.post("/audits", json=start_body())).json()["id"]
        case = await until(supervisor, audit_id, "AWAITING_RESPONSE")
    wrong_date = explanation_body(case, notification_date="2026-01-05")
    party = await signed_in(site, "party")
    page = f"/cabinet/audits/{audit_id}"
    try:
        await party.get("/language", params={"lang": "ru", "next": page})
        refused = await post_form(party, page, f"{page}/explanation", wrong_date)
        assert refused.status_code == 422
        message = re.search(r'id="e-notification_date">([^<]*)<', refused.text)
        assert message is not None
        assert message[1].startswith("дата уведомления: указано «5 января 2026"), message[1]
        assert "а в уведомлении" in message[1]
    finally:
        await party.aclose()
    async with api_client(site, settings, "party") as api:
        answer = await api.post(f"/audits/{audit_id}/explanation", json=wrong_date)
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid"
    assert answer.json()["detail"] == (
        f"notification_date is 2026-01-05, but the notification says {case['issued_on']}"
    )
