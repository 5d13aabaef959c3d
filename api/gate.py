"""What every request passes before any route reads its body.

Reading a body costs memory and time that an anonymous caller should not be able to spend,
so the gate answers from the headers alone where it can: a body declared larger than
REQUEST_MAX_BYTES is a 413, a body sent to the API without credentials or with a token that is not
accepted is a 401, and a URL carrying characters no column can store is a 422. A body that
grows past the limit while streaming (no Content-Length) is cut off with a 413 too.
"""

from urllib.parse import parse_qsl, unquote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import TokenVerifier, unauthenticated
from api.errors import ApiError, ErrorBody, answer
from domain.storable import text_problem

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class RequestGate:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        open_prefixes: tuple[str, ...],
        larger_bodies: dict[str, int],
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger_bodies = larger_bodies  # path -> its own limit (feed imports)
        # Paths that take bodies without a bearer token: pages (they check their session
        # cookie and CSRF token themselves) and what anyone may send.
        self.open_prefixes = open_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self._check(scope)
        except ApiError as error:
            body = ErrorBody(code=error.code, detail=error.message, field=error.field)
            await answer(error.status, body)(scope, receive, send)
            return
        limit = self.larger_bodies.get(scope["path"], self.max_bytes)
        await self.app(scope, self._limited(receive, limit), send)

    async def _check(self, scope: Scope) -> None:
        _check_url(scope)
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        limit = self.larger_bodies.get(scope["path"], self.max_bytes)
        if declared is not None and (not declared.isascii() or not declared.isdigit()):
            raise ApiError(400, "bad_request", "Content-Length must be a number of bytes")
        if declared is not None and int(declared) > limit:
            raise _too_large(limit)
        if scope["method"] not in _WITH_BODY or scope["path"].startswith(self.open_prefixes):
            return
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if token.strip() and scheme.lower() == "bearer":
            verifier: TokenVerifier = scope["app"].state.verifier
            principal = await run_in_threadpool(verifier.verify, token.strip())
            scope.setdefault("state", {})["principal"] = principal
        else:
            raise unauthenticated("send `Authorization: Bearer <token>`")

    def _limited(self, receive: Receive, limit: int) -> Receive:
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI re-raises an HTTPException from body reading as it is.
                    error = _too_large(limit)
                    raise HTTPException(413, error.message)
            return message

        return limited


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"the request body is larger than {limit} bytes")


def _check_url(scope: Scope) -> None:
    path_problem = text_problem(unquote(scope.get("raw_path", b"").decode("latin-1")))
    if path_problem:
        raise ApiError(422, "invalid", f"the address {path_problem}", "path")
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        problem = text_problem(name) or text_problem(value)
        if problem:
            raise ApiError(422, "invalid", f"query parameter {name!r} {problem}", name)
