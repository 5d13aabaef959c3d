"""Sessions and access rules of the pages: sign-in and back, expiry, sign-out, and the same
404s as the API for another party's or another office's case."""

import time

import httpx
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from config import Settings
from tests.factories import make_bin, start_body
from tests.pages import api_client, hidden, signed_in, site
from tests.tokens import FOREIGN_OFFICE

__all__ = ["site"]


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
