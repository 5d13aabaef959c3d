"""The screening candidates on the dashboard: who sees which, filters and paging, the price
chart with its figures as text, dismissing with a reason and accepting through the
pre-filled start form, each refusal changing nothing."""

import re
from datetime import date
from typing import Any

import httpx
import pytest

import web.screening
from config import Settings
from tests.cases import until
from tests.pages import api_client, post_form, signed_in, site
from tests.screening_data import as_csv, as_json_lines, item, line, market
from tests.test_screening_api import TARGET, run_screening, target_declaration

__all__ = ["site"]
FOREIGN = "55301/020326/0000009"


async def screened(site: str, settings: Settings) -> dict[str, Any]:
    """A run over a market with one under-priced line in office 55201, one in 55301 and a
    recipient over the monthly parcel limit; the candidates by kind."""
    async with api_client(site, settings, "supervisor") as api:
        # Another market (pumps) in another office.
        foreign = [
            line(str(1000 + n), declarant=n % 4, office="55301", hs_code="8414100000")
            for n in range(24)
        ]
        foreign.append(line("700", number=FOREIGN, office="55301", hs_code="8414100000"))
        await api.post("/declarations/import", content=as_csv(market() + target_declaration()))
        await api.post("/declarations/import", content=as_csv(foreign))
        # Tracking numbers in the S10 form: long enough never to turn up inside a form token.
        parcels = [item(f"RR00000000{n}KZ", date(2026, 2, 3 + n)) for n in range(4)]
        await api.post("/postal-items/import", content=as_json_lines(parcels))
        run = await run_screening(api)
        assert (run["price_candidates"], run["postal_candidates"]) == (2, 1), run
        own = (await api.get("/screening/candidates")).json()["items"]
    found = {c["rule"]: c for c in own}
    return {"price": found["price"], "postal": found["postal"]}


async def test_only_staff_see_the_candidates_and_price_ones_of_their_own_office(
    site: str, settings: Settings
) -> None:
    found = await screened(site, settings)
    async with httpx.AsyncClient(base_url=site) as anonymous:
        reply = await anonymous.get("/dashboard/screening")
        assert reply.status_code == 303 and reply.headers["location"].startswith("/sign-in")
    inspector = await signed_in(site, "inspector")
    party = await signed_in(site, "party")
    operator = await signed_in(site, "operator")
    try:
        page = await inspector.get("/dashboard/screening")
        assert page.status_code == 200
        assert TARGET in page.text and FOREIGN not in page.text
        assert found["postal"]["parcel_id"] in page.text
        assert "more parcels in a calendar month than the limit" in page.text
        assert 'href="/dashboard/screening"' in (await inspector.get("/dashboard")).text
        for other in (party, operator):
            assert (await other.get("/dashboard/screening")).status_code == 403
        async with api_client(site, settings, "supervisor", office="55301", sub="S-9") as api:
            [theirs] = (await api.get("/screening/candidates", params={"rule": "price"})).json()[
                "items"
            ]
        assert (
            await inspector.get(f"/dashboard/screening/{theirs['id']}/accept")
        ).status_code == 404
        refused = await post_form(
            inspector,
            "/dashboard/screening",
            f"/dashboard/screening/{theirs['id']}/dismiss",
            {"reason": "not ours"},
        )
        assert refused.status_code == 404
        async with api_client(site, settings, "supervisor", office="55301", sub="S-9") as api:
            still = (await api.get(f"/screening/candidates/{theirs['id']}")).json()
        assert still["status"] == "open"
    finally:
        for client in (inspector, party, operator):
            await client.aclose()


async def test_filters_paging_and_the_price_chart_with_its_figures(
    site: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = await screened(site, settings)
    evidence = found["price"]["evidence"]
    inspector = await signed_in(site, "inspector")
    try:
        price = (await inspector.get("/dashboard/screening", params={"rule": "price"})).text
        assert TARGET in price and found["postal"]["parcel_id"] not in price
        chart = re.search(r"<svg.*?</svg>", price, re.S)
        assert chart and 'class="box"' in chart.group() and 'class="threshold"' in chart.group()
        # The figures as text, not only as shapes: the declared value, the quartiles, the
        # median and the threshold at 80 % of it.
        for figure in ("800.00", "1,011.50", "809.20"):
            assert figure in price, figure
        assert evidence["reference"]["median"] == "1011.500000"
        by_code = await inspector.get("/dashboard/screening", params={"hs_code": "8413"})
        assert TARGET not in by_code.text and "No candidates match" in by_code.text
        postal = await inspector.get("/dashboard/screening", params={"rule": "postal"})
        assert TARGET not in postal.text and found["postal"]["parcel_id"] in postal.text
        bad = await inspector.get(
            "/dashboard/screening", params={"hs_code": "84x", "rule": "customs", "cursor": "1"}
        )
        assert bad.status_code == 422
        for name in ("hs_code", "rule"):
            assert f'id="e-{name}"' in bad.text

        monkeypatch.setattr(web.screening, "PAGE_SIZE", 1)
        first = (await inspector.get("/dashboard/screening")).text
        link = re.search(r'href="(/dashboard/screening\?[^"]*cursor=[^"]+)"', first)
        assert link, "a full page links to the next one"
        second = (await inspector.get(link.group(1).replace("&amp;", "&"))).text
        shown = [TARGET in page for page in (first, second)]
        assert sorted(shown) == [False, True]  # each candidate on exactly one page
    finally:
        await inspector.aclose()


async def test_dismiss_needs_the_form_token_and_a_reason(site: str, settings: Settings) -> None:
    found = await screened(site, settings)
    postal = found["postal"]["id"]
    inspector = await signed_in(site, "inspector")
    try:
        action = f"/dashboard/screening/{postal}/dismiss"
        forged = await inspector.post(action, data={"reason": "gift"})
        assert forged.status_code == 403
        empty = await post_form(inspector, "/dashboard/screening", action, {"reason": "  "})
        assert empty.status_code == 422 and f'id="e-{postal}-reason"' in empty.text
        async with api_client(site, settings, "supervisor") as api:
            assert (await api.get(f"/screening/candidates/{postal}")).json()["status"] == "open"
        done = await post_form(
            inspector, "/dashboard/screening", action, {"reason": "gifts from relatives"}
        )
        assert done.status_code == 303 and done.headers["location"].endswith("done=dismissed")
        again = await post_form(inspector, "/dashboard/screening?status=", action, {"reason": "x"})
        assert again.status_code == 409
        async with api_client(site, settings, "supervisor") as api:
            decided = (await api.get(f"/screening/candidates/{postal}")).json()
            trail = (await api.get(f"/screening/candidates/{postal}/trail")).json()
        assert (decided["status"], decided["decided_by"]) == ("dismissed", "I-001")
        assert [e["details"]["reason"] for e in trail] == ["gifts from relatives"]
    finally:
        await inspector.aclose()


async def test_accept_opens_the_start_form_pre_filled_and_starts_the_audit_as_edited(
    site: str, settings: Settings
) -> None:
    found = await screened(site, settings)
    candidate = found["price"]
    evidence = candidate["evidence"]
    inspector = await signed_in(site, "inspector")
    try:
        path = f"/dashboard/screening/{candidate['id']}/accept"
        form = await inspector.get(path)
        assert form.status_code == 200
        assert f'action="{path}"' in form.text
        fields = dict(re.findall(r'name="([^"]+)" type="[a-z]+" value="([^"]*)"', form.text))
        assert fields["party_bin"] == candidate["declarant_bin"]
        assert fields["lines-0-declared_price"] == "200000.00"
        assert fields["lines-0-adjusted_price"] == evidence["proposed_customs_value"]
        assert fields["lines-1-declared_price"] == fields["lines-1-adjusted_price"] == "40400.00"
        assert "Line 1: declared 800.00 KZT" in form.text
        # Statistics to the tiyn, as people read amounts (they are computed more finely).
        assert re.search(r"a median of \d+\.\d\d KZT \(quartiles \d+\.\d\d-\d+\.\d\d\)", form.text)
        values = {
            **{k: v for k, v in fields.items() if k.startswith(("lines-", "party_"))},
            "declarations": TARGET,
            "findings": "Edited: the price is far below similar fittings.",
            "party_language": "ru",
            "delivery_method": "cabinet",
        }
        unnamed = await post_form(inspector, path, path, {**values, "action": "start"})
        assert unnamed.status_code == 422 and 'id="e-party_name"' in unnamed.text
        async with api_client(site, settings, "supervisor") as api:
            still = (await api.get(f"/screening/candidates/{candidate['id']}")).json()
        assert still["status"] == "open"  # a refused form takes nothing

        values["party_name"] = "Steppe Fittings LLP"
        started = await post_form(inspector, path, path, {**values, "action": "start"})
        assert started.status_code == 303, started.text
        audit_id = started.headers["location"].split("/")[-1].split("?")[0]
        async with api_client(site, settings, "supervisor") as api:
            case = await until(api, audit_id, "AWAITING_RESPONSE")
            decided = (await api.get(f"/screening/candidates/{candidate['id']}")).json()
        assert case["findings"] == "Edited: the price is far below similar fittings."
        assert case["charges"]["customs_duty"] == evidence["extra_duty"]
        assert case["charges"]["vat"] == evidence["extra_vat"]
        assert (decided["status"], decided["audit_id"]) == ("accepted", audit_id)
        again = await post_form(inspector, "/dashboard/screening", path, {**values})
        assert again.status_code == 409 and audit_id in again.text
    finally:
        await inspector.aclose()
