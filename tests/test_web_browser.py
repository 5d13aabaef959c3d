"""End to end in a real browser (Debian's Chromium driven by Playwright): an inspector
starts an audit, the party reads the notice, sends an invoice and explains, the inspector
accepts, and both see the outcome — in English and in Kazakh; an inspector opens the
screening candidates and the start form one pre-fills. Every main page is checked
with axe-core in the page, and screenshotted (into WEB_SCREENSHOTS_DIR when set)."""

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, FilePayload, Page, async_playwright, expect

from config import Settings
from tests.factories import PARTY_BIN
from tests.pages import TimeSite, site, time_site
from tests.test_web_screening import screened

__all__ = ["site", "time_site"]
CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser tests need Chromium: apt-get install -y chromium (Debian package)",
)
INVOICE = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        await launched.close()


async def accessible(page: Page, name: str) -> None:
    """No axe-core violations on the page; saves its screenshot when asked to."""
    results = await Axe().run(page)
    assert results.violations_count == 0, f"{name}:\n{results.generate_report()}"
    folder = os.environ.get("WEB_SCREENSHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


async def sign_in(browser: Browser, base_url: str, identity: str, language: str) -> Page:
    context = await browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto("/")
    await page.select_option("#lang-choice", language)
    await page.click("form.language button")
    await page.click(f"button[name=identity][value={identity}]")
    return page


@pytest.mark.parametrize(
    ("language", "accepted", "explain_heading"),
    [
        ("en", "Explanation accepted", "Explain"),
        ("kk", "Түсініктеме қабылданды", "Түсініктеме беру"),
    ],
)
async def test_audit_from_start_to_accepted_explanation(
    browser: Browser, site: str, language: str, accepted: str, explain_heading: str
) -> None:
    shots = language == "en"
    inspector = await sign_in(browser, site, "inspector", language)
    await inspector.click("a[href='/dashboard/audits/new']")
    await inspector.fill("#f-party_bin", PARTY_BIN)
    await inspector.fill("#f-party_name", "Steppe Fittings LLP")
    await inspector.fill("#f-party_address", "Almaty, Abay ave. 1")
    await inspector.select_option("#f-party_language", language)
    await inspector.fill("#f-declarations", "55201/010525/0000001")
    await inspector.fill("#f-findings", "Declared price 2.5 EUR/pc below similar goods.")
    for name, value in {
        "declaration": "55201/010525/0000001",
        "registered_on": "2025-05-01",
        "currency": "USD",
        "exchange_rate": "420",
        "duty_rate_percent": "15",
        "declared_price": "8000",
        "customs_fee_kzt": "20000",
        "adjusted_price": "10000",
    }.items():
        await inspector.fill(f"#f-lines-0-{name}", value)
    # The charges appear while typing (the page's script), before anything is submitted.
    await expect(inspector.locator("#charges table")).to_be_visible()
    await accessible(inspector, "start-audit") if shots else None
    await inspector.click("button[value=start]")
    await expect(inspector.locator("h1")).to_contain_text("CA-")
    audit_id = inspector.url.rsplit("/", 1)[-1].split("?")[0]

    party = await sign_in(browser, site, "party", language)
    await expect(party.locator(f"a[href='/cabinet/audits/{audit_id}']")).to_be_visible()
    for _ in range(50):  # the notice is placed in the cabinet by the worker in a moment
        await party.goto(f"/cabinet/audits/{audit_id}")
        if await party.locator("#explain-h").count():
            break
        await party.wait_for_timeout(200)
    if shots:
        await party.goto("/cabinet")
        await accessible(party, "cabinet")
        await party.goto(f"/cabinet/audits/{audit_id}")
    await expect(party.locator("#explain-h")).to_have_text(explain_heading)
    await party.click("table.documents a >> nth=0")
    await expect(party.locator("iframe.paper")).to_be_visible()
    await accessible(party, "notice") if shots else None
    await party.go_back()
    await party.reload()
    await expect(party.locator("table.documents").first).to_contain_text(
        "First opened by the party" if language == "en" else "Тұлға алғаш ашқан"
    )

    await party.fill("#f-title", "Invoice 17")
    await party.select_option("#f-kind", "invoice")
    await party.set_input_files(
        "#f-file",
        files=[FilePayload(name="invoice.pdf", mimeType="application/pdf", buffer=INVOICE)],
    )
    await party.click("form[action$='/uploads'] button[type=submit]")
    await expect(party.locator("#received")).to_contain_text("Invoice 17")
    await party.fill("#f-text", "The price was agreed in the contract of 2025.")
    await party.fill("#f-grounds", "Art. 39 of the Customs Code: transaction value.")
    if shots:
        await accessible(party, "cabinet-case")
    await party.click("form[action$='/explanation'] button[type=submit]")
    await expect(party.locator("p.notice")).to_be_visible()

    if shots:
        await inspector.goto("/dashboard")
        await accessible(inspector, "dashboard")
        await inspector.goto(f"/dashboard/audits/{audit_id}")
    await inspector.reload()
    await expect(inspector.locator("#explanation-h")).to_be_visible()
    await expect(inspector.locator("section[aria-labelledby=explanation-h]")).to_contain_text(
        "Invoice 17"
    )
    await accessible(inspector, "dashboard-case") if shots else None
    await inspector.check("#d-accept")
    await inspector.click("form[action$='/actions/review'] button[type=submit]")
    await expect(inspector.locator("dl.facts").first).to_contain_text(accepted)
    await expect(inspector.locator("#a-review-h")).to_have_count(0)  # no longer offered

    await party.goto(f"/cabinet/audits/{audit_id}")
    await expect(party.locator("#outcome-h")).to_be_visible()
    await expect(party.locator("section.outcome")).to_contain_text(accepted)
    if language == "kk":
        await accessible(party, "cabinet-case-kk")
        await inspector.goto("/dashboard")
        await accessible(inspector, "dashboard-kk")
    else:
        await inspector.goto("/sign-out")
        await party.context.clear_cookies()
        await party.goto("/sign-in")
        await accessible(party, "sign-in")
    await inspector.context.close()
    await party.context.close()


async def test_screening_candidates_with_their_price_chart(
    browser: Browser, site: str, settings: Settings
) -> None:
    """The candidates page (chart, figures, decision forms) and the start form it pre-fills."""
    found = await screened(site, settings)
    inspector = await sign_in(browser, site, "inspector", "en")
    await inspector.click("nav.sections a[href='/dashboard/screening']")
    await expect(inspector.locator("h1")).to_contain_text("Screening candidates")
    await expect(inspector.locator("figure.price-chart svg")).to_be_visible()
    await accessible(inspector, "screening")
    await inspector.click(f"a[href='/dashboard/screening/{found['price']['id']}/accept']")
    await expect(inspector.locator("#f-party_bin")).to_have_value(found["price"]["declarant_bin"])
    await accessible(inspector, "screening-accept")
    await inspector.context.close()


async def test_the_party_appeals_a_decision_in_the_cabinet(
    browser: Browser, time_site: TimeSite
) -> None:
    """The decision section with the debt and the appeal form, then the inspector's page
    with the appeal to decide."""
    _, case = await time_site.decided()
    party = await sign_in(browser, time_site.url, "party", "en")
    await party.goto(f"/cabinet/audits/{case.id}")
    await expect(party.locator("#decision-h")).to_be_visible()
    await expect(party.locator("section[aria-labelledby=decision-h]")).to_contain_text(
        f"{case.id}/D1"
    )
    await party.fill("#f-title", "Complaint to the higher body")
    await party.select_option("#f-kind", "other")
    await party.set_input_files(
        "#f-file",
        files=[FilePayload(name="complaint.pdf", mimeType="application/pdf", buffer=INVOICE)],
    )
    await party.click("form[action$='/uploads'] button[type=submit]")
    await expect(party.locator("#received")).to_contain_text("Complaint to the higher body")
    await party.fill("#f-appeal-grounds", "The contract price was paid in full; see the SWIFT.")
    await party.locator("form[action$='/appeal'] input[name=documents]").first.check()
    await party.locator("#decision-h").scroll_into_view_if_needed()
    await accessible(party, "cabinet-decision")
    await party.click("form[action$='/appeal'] button[type=submit]")
    await expect(party.locator("dl.facts").first).to_contain_text("Appealed")

    inspector = await sign_in(browser, time_site.url, "inspector", "en")
    await inspector.goto(f"/dashboard/audits/{case.id}")
    await expect(inspector.locator("#a-appeal_outcome-h")).to_be_visible()
    await accessible(inspector, "dashboard-appeal")
    await inspector.context.close()
    await party.context.close()
