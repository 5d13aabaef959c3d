"""The API against its own OpenAPI schema, fuzzed by schemathesis over a real socket with a
real worker behind it: no 5xx, no status the schema does not document, and every answer in
the documented content type. Bounded (examples per operation, total time) to fit CI."""

import asyncio
import os
import sys
from pathlib import Path

import httpx

from tests.tokens import Tokens

MAX_EXAMPLES = os.environ.get("CONTRACT_MAX_EXAMPLES", "8")
MAX_SECONDS = os.environ.get("CONTRACT_MAX_SECONDS", "40")


async def test_no_server_errors_and_only_documented_statuses(
    api: httpx.AsyncClient, tokens: Tokens, tmp_path: Path
) -> None:
    base = str(api.base_url).rstrip("/")
    st = Path(sys.executable).parent / "st"
    process = await asyncio.create_subprocess_exec(
        str(st),
        "run",
        f"{base}/openapi.json",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance",
        "--max-examples",
        MAX_EXAMPLES,
        "--max-time",
        MAX_SECONDS,
        "--seed",
        "417",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        "--header",
        "Authorization: " + tokens.header("supervisor")["Authorization"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    output, _ = await process.communicate()
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-6000:]
