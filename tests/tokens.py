"""Bearer tokens for tests, signed with the same local key the API under test trusts."""

from collections.abc import Generator

import httpx

from api.auth import issue_dev_token
from config import Settings
from tests.factories import PARTY_BIN

OFFICE = "55201"
FOREIGN_OFFICE = "55301"


class Tokens:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def header(self, role: str, **claims: str) -> dict[str, str]:
        defaults = {
            "inspector": {"sub": "I-001", "office": OFFICE},
            "supervisor": {"sub": "S-001", "office": OFFICE},
            "party": {"sub": PARTY_BIN, "party_bin": PARTY_BIN},
            "treasury": {"sub": "treasury-feed"},
            "operator": {"sub": "O-001"},
        }[role]
        fields = {**defaults, **claims}
        token = issue_dev_token(
            self._settings,
            role=role,
            sub=fields["sub"],
            office=fields.get("office"),
            party_bin=fields.get("party_bin"),
        )
        return {"Authorization": f"Bearer {token}"}


class ByEndpoint(httpx.Auth):
    """Signs each request as the role that would make it in real life (the party explains
    and uploads, the treasury pays, a supervisor does the rest), unless the test chose."""

    def __init__(self, tokens: Tokens) -> None:
        self._headers = {role: tokens.header(role) for role in ("party", "treasury", "supervisor")}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if "authorization" not in request.headers:
            request.headers.update(self._headers[self._role(request)])
        yield request

    @staticmethod
    def _role(request: httpx.Request) -> str:
        path = request.url.path
        if "/payments" in path:
            return "treasury"
        party_paths = ("/explanation", "/response", "/documents", "/appeal")
        if (request.method == "POST" and path.endswith(party_paths)) or "/parties/" in path:
            return "party"
        return "supervisor"
