"""Treasury statements: read as they arrive, answered line by line in the statement's order,
a bad line reported without stopping the rest."""

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

import httpx
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from config import Settings
from tests.cases import started
from tests.conftest import serving
from tests.tokens import Tokens

HEADER = "audit_id,reference,amount,paid_at,kind\n"


class ChunkedExchange:
    """One HTTP/1.1 request whose body is sent piece by piece while the answer is read: what
    a treasury system streaming its statement does (httpx sends the whole body first)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.pending = b""

    @classmethod
    async def open(cls, base_url: str, path: str, headers: dict[str, str]) -> "ChunkedExchange":
        address = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        head = [f"POST {path} HTTP/1.1", f"Host: {address.netloc}", "Transfer-Encoding: chunked"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        return cls(reader, writer)

    async def send(self, text: str) -> None:
        data = text.encode()
        self.writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        await self.writer.drain()

    async def finish(self) -> None:
        self.writer.write(b"0\r\n\r\n")
        await self.writer.drain()

    async def status(self) -> int:
        head = await self.reader.readuntil(b"\r\n\r\n")
        assert b"transfer-encoding: chunked" in head.lower(), head
        return int(head.split(b" ", 2)[1])

    async def json_line(self) -> Any:
        """The next JSON line of the chunked answer."""
        while b"\n" not in self.pending:
            size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
            assert size, "the answer ended"
            self.pending += (await self.reader.readexactly(size + 2))[:-2]
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def test_a_statement_is_answered_while_it_is_still_arriving(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    case = await started(api)
    day = case["issued_on"]
    headers = {
        **Tokens(settings).header("treasury"),
        "Content-Type": "text/csv",
        "Accept": "application/x-ndjson",
    }
    exchange = await ChunkedExchange.open(str(api.base_url), "/payments/import", headers)
    try:
        await exchange.send(HEADER + f"{case['id']},LIVE-1,100.00,{day},\n")
        # The rest of the statement is sent only once the first line has been answered.
        assert await asyncio.wait_for(exchange.status(), timeout=60) == 200
        first = await asyncio.wait_for(exchange.json_line(), timeout=60)
        assert (first["line"], first["result"]) == (1, "accepted")
        await exchange.send(
            f"{case['id']},LIVE-2,50.00,{day},\n{case['id']},LIVE-1,100.00,{day},\n"
        )
        await exchange.finish()
        rest = [await exchange.json_line() for _ in range(3)]
    finally:
        await exchange.close()
    assert [(r["line"], r["result"]) for r in rest[:2]] == [(2, "accepted"), (3, "duplicate")]
    assert rest[2] == {"accepted": 2, "duplicates": 1, "rejected": 0}


async def test_lines_of_one_case_count_in_the_statements_order(api: httpx.AsyncClient) -> None:
    """More lines than are applied at once, three cases interleaved, references repeated:
    the first line of a reference counts, every later one is its duplicate."""
    cases = [await started(api) for _ in range(3)]
    rows: list[str] = []
    expected: list[str] = []
    for number in range(60):
        case = cases[number % 3]
        reference = f"ORD-{number % 7}"
        first = not any(r.startswith(f"{case['id']},{reference},") for r in rows)
        rows.append(f"{case['id']},{reference},10.00,{case['issued_on']},\n")
        expected.append("accepted" if first else "duplicate")
    reply = await api.post(
        "/payments/import",
        content=(HEADER + "".join(rows)).encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert [r["line"] for r in answer["results"]] == list(range(1, 61))
    assert [r["result"] for r in answer["results"]] == expected
    assert answer["accepted"] == expected.count("accepted") == 21
    for case in cases:
        paid = (await api.get(f"/audits/{case['id']}")).json()["amount_paid"]
        assert paid == "70.00"


async def test_a_bad_line_is_reported_and_the_rest_applied(api: httpx.AsyncClient) -> None:
    case = await started(api)
    day = case["issued_on"]
    body = (
        HEADER.encode()
        + f"{case['id']},BAD-1,10.00,{day},\n".encode()
        + f"{case['id']},BAD-\xff,10.00,{day},\n".encode("latin-1")  # not UTF-8
        + f"{case['id']},BAD-\x00,10.00,{day},\n".encode()
        + f"{case['id']},BAD-4,10.00,{day},,extra\n".encode()
        + f"{'X' * 41},BAD-5,10.00,{day},\n".encode()
        + f"CA-2026-999998,BAD-6,10.00,{day},\n".encode()
    )
    reply = await api.post("/payments/import", content=body, headers={"Content-Type": "text/csv"})
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    assert [r["result"] for r in results] == [
        "accepted",
        "invalid",
        "invalid",
        "invalid",
        "invalid",
        "unknown_audit",
    ]
    assert "UTF-8" in results[1]["detail"] and "control" in results[2]["detail"]
    assert "more fields" in results[3]["detail"] and "longer than 40" in results[4]["detail"]

    statement = {
        "payments": [{"audit_id": "Y" * 41, "reference": "J-1", "amount": "1.00", "paid_at": day}]
    }
    batch = await api.post("/payments/batch", json=statement)
    assert batch.status_code == 200, batch.text
    assert batch.json()["results"][0]["result"] == "invalid"
    nothing = await api.post("/payments/import", content=HEADER.encode())
    assert nothing.status_code == 422 and "no postings" in nothing.json()["detail"]


async def test_a_client_that_sends_everything_before_reading_gets_its_answer(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    """Most clients upload the whole statement before they read a byte of the answer: the
    answer waiting to be read must never stop the API from reading the rest of the body."""
    lines = 40_000  # 2 MB up and more down: well past what the sockets can buffer
    body = HEADER + "".join(
        f"CA-2026-000001,BIG-{n},not-a-number,2026-01-05,\n" for n in range(lines)
    )
    headers = {
        **Tokens(settings).header("treasury"),
        "Content-Type": "text/csv",
        "Accept": "application/x-ndjson",
    }
    async with httpx.AsyncClient(base_url=api.base_url, timeout=60) as client:
        reply = await client.post("/payments/import", content=body.encode(), headers=headers)
    assert reply.status_code == 200
    answer = reply.text.splitlines()
    assert len(answer) == lines + 1
    assert json.loads(answer[-1]) == {"accepted": 0, "duplicates": 0, "rejected": lines}


async def test_an_error_after_the_answer_began_is_its_last_line(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    """A chunked statement that grows past IMPORT_MAX_BYTES once its first results are out:
    the answer ends with the 413 the API would have given, not with a cut-off reply."""
    small = settings.model_copy(update={"import_max_bytes": 4096})
    headers = {
        **Tokens(settings).header("treasury"),
        "Content-Type": "text/csv",
        "Accept": "application/x-ndjson",
    }
    async with serving(create_app(small, client=dev_env.client)) as base:
        exchange = await ChunkedExchange.open(base, "/payments/import", headers)
        try:
            await exchange.send(HEADER + "CA-2026-000001,E-1,abc,2026-01-05,\n")
            assert await asyncio.wait_for(exchange.status(), timeout=60) == 200
            first = await asyncio.wait_for(exchange.json_line(), timeout=60)
            assert first["result"] == "invalid"
            await exchange.send("CA-2026-000001,E-2,abc,2026-01-05,\n" * 200)
            await exchange.finish()
            lines = [await exchange.json_line()]
            while "error" not in lines[-1]:
                lines.append(await exchange.json_line())
        finally:
            await exchange.close()
    assert lines[-1]["error"]["code"] == "too_large"
