"""Who may do what: every endpoint × every role × own/foreign case, with the exact status."""

import time
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from api.auth import dev_key
from config import Settings
from tests.cases import started
from tests.factories import PARTY_BIN, make_bin, start_body
from tests.tokens import FOREIGN_OFFICE, Tokens

OTHER_BIN = make_bin("96024000013")
CALLERS: dict[str, dict[str, str]] = {
    "inspector": {},
    "supervisor": {},
    "party": {},
    "treasury": {},
    "operator": {},
    "inspector-foreign": {"office": FOREIGN_OFFICE},
    "supervisor-foreign": {"office": FOREIGN_OFFICE},
    "party-foreign": {"sub": OTHER_BIN, "party_bin": OTHER_BIN},
}
OWN_STAFF = ("inspector", "supervisor")
FOREIGN = ("inspector-foreign", "supervisor-foreign", "party-foreign")


def expect(default: int, **codes: int) -> dict[str, int]:
    """`default` for every caller, except those named (dashes written as underscores)."""
    table = dict.fromkeys(CALLERS, default)
    table.update({k.replace("_", "-"): v for k, v in codes.items()})
    return table


def readers(own: int) -> dict[str, int]:
    return expect(404, inspector=own, supervisor=own, party=own, operator=own, treasury=403)


def office_only(own: int) -> dict[str, int]:
    return expect(403, inspector=own, supervisor=own, inspector_foreign=404, supervisor_foreign=404)


def party_only(own: int) -> dict[str, int]:
    return expect(403, party=own, party_foreign=404)


CASE = "{id}"
MATRIX: list[tuple[str, str, Any, dict[str, int]]] = [
    ("GET", "/audits", None, expect(200, treasury=403)),
    ("GET", f"/audits/{CASE}", None, readers(200)),
    ("POST", f"/audits/{CASE}/explanation", {}, party_only(422)),
    (
        "POST",
        f"/audits/{CASE}/payments",
        {"reference": "M-{n}", "amount": "1.00", "paid_at": "2026-01-05"},
        expect(403, treasury=202),
    ),
    ("POST", f"/audits/{CASE}/review", {"decision": "accept"}, office_only(409)),
    ("POST", f"/audits/{CASE}/cancel", {}, expect(403, supervisor=422, supervisor_foreign=404)),
    ("POST", f"/audits/{CASE}/reassign", {}, expect(403, supervisor=422, supervisor_foreign=404)),
    ("POST", f"/audits/{CASE}/delivery", {}, office_only(422)),
    ("POST", f"/audits/{CASE}/delivery/returned", {}, office_only(422)),
    ("POST", f"/audits/{CASE}/delivery/inspection", {}, office_only(422)),
    ("GET", f"/audits/{CASE}/documents", None, readers(200)),
    ("GET", f"/audits/{CASE}/documents/none", None, readers(404)),
    ("GET", f"/audits/{CASE}/documents/none/signature", None, readers(404)),
    ("GET", f"/audits/{CASE}/documents/none.pdf", None, readers(404)),
    ("POST", f"/audits/{CASE}/documents", "multipart", party_only(422)),
    ("POST", f"/audits/{CASE}/document-requests", {}, office_only(422)),
    ("POST", f"/audits/{CASE}/document-requests/R1/response", {}, party_only(422)),
    ("GET", f"/audits/{CASE}/trail", None, readers(200)),
    ("GET", f"/audits/{CASE}/trail/verify", None, readers(200)),
    ("POST", "/payments/batch", {}, expect(403, treasury=422)),
    ("POST", "/payments/import", "csv", expect(403, treasury=422)),
    ("POST", "/charges/preview", {}, expect(422)),
    ("GET", "/calendar/overrides", None, expect(200)),
    (
        "PUT",
        "/calendar/overrides/2026-01-01",
        {},
        expect(403, supervisor=422, supervisor_foreign=422),
    ),
    (
        "DELETE",
        "/calendar/overrides/2026-01-01",
        None,
        expect(403, supervisor=404, supervisor_foreign=404),
    ),
    ("PUT", f"/parties/{PARTY_BIN}/webhook", {}, expect(403, party=422)),
    ("DELETE", f"/parties/{PARTY_BIN}/webhook", None, expect(403, party=404)),
]


async def call(
    api: httpx.AsyncClient, method: str, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    if body == "multipart":
        return await api.request(method, path, files={"title": (None, "x")}, headers=headers)
    if body == "csv":
        return await api.request(method, path, content=b"", headers=headers)
    return await api.request(method, path, json=body, headers=headers)


async def test_every_endpoint_for_every_role(api: httpx.AsyncClient, tokens: Tokens) -> None:
    case = await started(api)
    headers = {
        name: tokens.header(name.removesuffix("-foreign"), **claims)
        for name, claims in CALLERS.items()
    }
    wrong: list[str] = []
    for n, (method, template, body, expected) in enumerate(MATRIX):
        path = template.format(id=case["id"])
        for caller, status in expected.items():
            payload = (
                {
                    k: (v.format(n=f"{n}-{caller}") if isinstance(v, str) else v)
                    for k, v in body.items()
                }
                if isinstance(body, dict)
                else body
            )
            reply = await call(api, method, path, payload, headers[caller])
            if reply.status_code != status:
                wrong.append(
                    f"{method} {template} as {caller}: {reply.status_code} != {status}"
                    f" ({reply.text[:120]})"
                )
            unauthenticated = await call(api, method, path, payload, {"Authorization": ""})
            if unauthenticated.status_code != 401:
                wrong.append(f"{method} {template} without a token: {unauthenticated.status_code}")
    assert not wrong, "\n".join(wrong)
    assert (await api.get("/healthz", headers={"Authorization": ""})).status_code == 200
    # Verification is for anyone who holds a document: no token needed, none refused.
    for sent in ({"Authorization": ""}, *headers.values()):
        anyone = await api.get(f"/verify/{case['id']}/N1?sha256={'0' * 64}", headers=sent)
        assert anyone.status_code == 200 and anyone.json()["valid"] is False


async def test_who_may_start_an_audit(api: httpx.AsyncClient, tokens: Tokens) -> None:
    body = start_body()
    del body["audit_id"]
    as_inspector = await api.post("/audits", json=body, headers=tokens.header("inspector"))
    assert as_inspector.status_code == 201
    as_someone_else = await api.post(
        "/audits", json={**body, "inspector_id": "I-002"}, headers=tokens.header("inspector")
    )
    assert as_someone_else.status_code == 403 and "I-001" in as_someone_else.json()["detail"]
    other_office = await api.post(
        "/audits", json=body, headers=tokens.header("supervisor", office=FOREIGN_OFFICE)
    )
    assert other_office.status_code == 403 and "55301" in other_office.json()["detail"]
    for role in ("party", "treasury", "operator"):
        assert (await api.post("/audits", json=body, headers=tokens.header(role))).status_code == (
            403
        )


async def test_a_party_cannot_learn_of_another_partys_audit(
    api: httpx.AsyncClient, tokens: Tokens
) -> None:
    case = await started(api)
    stranger = tokens.header("party", sub=OTHER_BIN, party_bin=OTHER_BIN)
    missing_id = "CA-2026-999990"
    for suffix in ("", "/documents", "/trail"):
        real = await api.get(f"/audits/{case['id']}{suffix}", headers=stranger)
        absent = await api.get(f"/audits/{missing_id}{suffix}", headers=stranger)
        assert real.status_code == absent.status_code == 404
        assert real.json()["detail"].replace(case["id"], "X") == absent.json()["detail"].replace(
            missing_id, "X"
        )
    documents = (await api.get(f"/audits/{case['id']}/documents")).json()
    doc_url = documents[0]["url"]
    assert (await api.get(doc_url, headers=stranger)).status_code == 404
    listing = await api.get("/audits", params={"party_bin": PARTY_BIN}, headers=stranger)
    assert listing.status_code == 200 and listing.json()["items"] == []
    own = await api.get("/audits", headers=tokens.header("party"))
    assert case["id"] in [item["id"] for item in own.json()["items"]]


def bad_tokens(settings: Settings) -> dict[str, str]:
    now = int(time.time())
    good = {
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "sub": "I-001",
        "role": "inspector",
        "office": "55201",
        "iat": now,
        "exp": now + 600,
    }
    key = dev_key(settings)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def sign(claims: dict[str, Any], signing_key: Any = key) -> str:
        return jwt.encode(claims, signing_key, algorithm="RS256")

    return {
        "expired": sign({**good, "exp": now - 60}),
        "not valid": sign(good, stranger),
        "not issued by": sign({**good, "iss": "someone-else"}),
        "not for": sign({**good, "aud": "another-api"}),
        "lacks the 'sub' claim": sign({k: v for k, v in good.items() if k != "sub"}),
        "role claim": sign({**good, "role": "admin"}),
        "'office' claim": sign({k: v for k, v in good.items() if k != "office"}),
        "not valid: ": "this.is.not-a-jwt",
    }


async def test_bad_tokens_are_401_with_the_reason(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    for reason, token in bad_tokens(settings).items():
        reply = await api.get("/audits", headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 401, (reason, reply.text)
        assert reason in reply.json()["detail"], (reason, reply.json())
    missing = await api.get("/audits", headers={"Authorization": "Basic abc"})
    assert missing.status_code == 401 and "Bearer" in missing.json()["detail"]
