"""The whole product for a benchmark: a Temporal dev server, the worker, the local mail sink
and SMS gateway and a fresh SQLite database, as `customs-audit dev` runs them; the API in the
same process too, or in one of its own as it is deployed."""

import asyncio
import multiprocessing
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Interceptor

from api.app import create_app
from api.auth import issue_dev_token
from config import Settings
from db.engine import make_engine
from db.migrate import upgrade
from devserver import find_binary
from devsinks.mail import MailSink
from devsinks.sms_gateway import create_gateway
from tests.conftest import free_port, serving
from worker import build_worker
from workflows.payloads import data_converter
from workflows.search_attributes import SEARCH_ATTRIBUTES


@dataclass
class Product:
    env: WorkflowEnvironment
    engine: Engine
    settings: Settings
    headers: dict[str, dict[str, str]]  # role -> Authorization header


@asynccontextmanager
async def running_product(
    interceptors: Sequence[Interceptor] = (),
    more_workflows: Sequence[type] = (),
    database_url: str | None = None,
) -> AsyncIterator[Product]:
    """The product on a fresh SQLite file, or on `database_url` (an empty database)."""
    with tempfile.TemporaryDirectory() as folder, MailSink("127.0.0.1", free_port()) as mail:
        url = database_url or f"sqlite:///{Path(folder) / 'app.db'}"
        upgrade(url)
        engine = make_engine(url)
        env = await WorkflowEnvironment.start_local(
            data_converter=data_converter,
            dev_server_existing_path=find_binary("temporal"),
            search_attributes=SEARCH_ATTRIBUTES,
        )
        try:
            async with serving(create_gateway("bench")) as sms:
                settings = Settings(
                    data_dir=Path(folder),
                    database_url=url,
                    temporal_task_queue=f"bench-{uuid.uuid4()}",
                    smtp_port=mail.port,
                    sms_gateway_url=f"{sms}/messages",
                    sms_gateway_token=SecretStr("bench"),
                )
                tokens = {
                    "inspector": issue_dev_token(
                        settings, role="inspector", sub="I-001", office="55201"
                    ),
                    "treasury": issue_dev_token(settings, role="treasury", sub="feed"),
                }
                headers = {role: {"Authorization": f"Bearer {t}"} for role, t in tokens.items()}
                queue = settings.temporal_task_queue
                worker = build_worker(
                    env.client, queue, engine, settings, interceptors, more_workflows
                )
                async with worker:
                    yield Product(env=env, engine=engine, settings=settings, headers=headers)
        finally:
            await env.shutdown()
            engine.dispose()


@asynccontextmanager
async def serving_api(
    product: Product, own_process: bool = False
) -> AsyncIterator[tuple[str, int | None]]:
    """The API's address, and the pid of its process when it has one of its own, as
    deployed (beside the worker, not in it); else it runs in this process, as in `dev`."""
    if not own_process:
        async with serving(create_app(product.settings, client=product.env.client)) as base:
            yield base, None
        return
    port = free_port()
    address = product.env.client.service_client.config.target_host
    settings = product.settings.model_copy(update={"temporal_address": address})
    process = multiprocessing.get_context("spawn").Process(
        target=_serve_api, args=(settings, port), daemon=True
    )
    process.start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as api:
            for _ in range(600):
                try:
                    if (await api.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the API process did not come up in a minute")
        yield base, process.pid
    finally:
        process.terminate()
        process.join(10)


def _serve_api(settings: Settings, port: int) -> None:
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
