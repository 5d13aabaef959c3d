"""A party's webhook receiver for tests: verifies the signature like a real one would."""

import time
from typing import Any

from fastapi import FastAPI, Request, Response

from domain.signing import SIGNATURE_HEADER, verify


def create_receiver(secret: str, fail_first: int = 0) -> tuple[FastAPI, list[dict[str, Any]]]:
    """The app and the list of verified payloads it accepted; bad signatures get 401, and a
    resend (an Idempotency-Key already accepted) is acknowledged but not accepted twice. The
    first `fail_first` requests get a 503, as a receiver that is briefly down."""
    app = FastAPI()
    accepted: list[dict[str, Any]] = []
    failures = [fail_first]

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        if failures[0] > 0:
            failures[0] -= 1
            return Response(status_code=503)
        body = await request.body()
        header = request.headers.get(SIGNATURE_HEADER, "")
        if not verify(secret, header, body, now=int(time.time())):
            return Response(status_code=401)
        key = request.headers.get("Idempotency-Key")
        if key is not None and any(p["idempotency_key"] == key for p in accepted):
            return Response(status_code=204, headers={"X-Request-Id": "rx-resend"})
        accepted.append(await request.json())
        return Response(status_code=204, headers={"X-Request-Id": f"rx-{len(accepted)}"})

    return app, accepted
