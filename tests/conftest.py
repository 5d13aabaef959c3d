"""Shared real servers: the time-skipping test server and the Temporal dev server."""

import asyncio
import itertools
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.server import Server
from config import Settings
from db.engine import make_engine, normalise_url
from db.migrate import upgrade
from db.models import AuditCounterRow
from devserver import find_binary, register_search_attributes
from devsinks.bank_gateway import create_bank_gateway
from devsinks.mail import MailSink
from devsinks.sms_gateway import create_gateway
from domain.clock import local_date
from tests.pki import Identity, make_ca
from tests.tokens import ByEndpoint, Tokens
from worker import build_worker
from workflows.payloads import data_converter
from workflows.search_attributes import SEARCH_ATTRIBUTES

SMS_TOKEN = "test-gateway-token"
BANK_TOKEN = "test-bank-token"


@pytest_asyncio.fixture(loop_scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server of the test's own (it starts in about 0.1 s): cases an
    earlier test left running, with their timers and retries, can never move its clock."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter,
        test_server_existing_path=find_binary("temporal-test-server"),
    )
    await register_search_attributes(env.client, "default")
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter,
        dev_server_existing_path=find_binary("temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
    )
    yield env
    await env.shutdown()


def _postgres_server() -> str | None:
    server = os.environ.get("DATABASE_URL", "")
    return server if server.startswith(("postgresql", "postgres:")) else None


def _database_on(server: str, name: str) -> str:
    return make_url(normalise_url(server)).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The schema, migrated once per session; each test's database starts as a copy of it
    (migrating takes about 0.4 s on PostgreSQL, copying 0.05 s). On PostgreSQL the name of
    a template database, on SQLite the path of a database file."""
    server = _postgres_server()
    if server is None:
        path = tmp_path_factory.mktemp("schema") / "app.db"
        upgrade(f"sqlite:///{path}")
        yield str(path)
        return
    name = f"audit_template_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade(_database_on(server, name))
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(tmp_path: Path, migrated_template: str) -> Iterator[str]:
    """A fresh, migrated database per test: SQLite by default, or a new database on the
    PostgreSQL server DATABASE_URL points at (what CI does)."""
    server = _postgres_server()
    if server is None:
        shutil.copyfile(migrated_template, tmp_path / "app.db")
        yield f"sqlite:///{tmp_path / 'app.db'}"
        return
    name = f"audit_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"'))
    yield _database_on(server, name)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def mail_sink() -> Iterator[MailSink]:
    with MailSink("127.0.0.1", free_port()) as sink:
        yield sink


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sms_gateway() -> AsyncIterator[str]:
    """Base URL of the local SMS gateway (the product's own dev gateway, on a real socket)."""
    async with serving(create_gateway(SMS_TOKEN)) as url:
        yield url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def bank_gateway() -> AsyncIterator[str]:
    """Base URL of the local banks' interface that takes account orders (the dev one)."""
    async with serving(create_bank_gateway(BANK_TOKEN)) as url:
        yield url


@pytest.fixture(scope="session")
def national_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[Identity, Path]:
    """The test stand-in for the National Certification Authority and its PEM on disk."""
    ca = make_ca()
    path = tmp_path_factory.mktemp("pki") / "trust-anchors.pem"
    path.write_bytes(ca.pem())
    return ca, path


@pytest.fixture
def settings(
    database_url: str,
    task_queue: str,
    mail_sink: MailSink,
    sms_gateway: str,
    bank_gateway: str,
    tmp_path: Path,
    national_ca: tuple[Identity, Path],
) -> Settings:
    return Settings(
        signature_trust_anchors=national_ca[1],
        upload_max_file_bytes=64 * 1024,
        upload_max_case_bytes=160 * 1024,
        data_dir=tmp_path,
        database_url=database_url,
        temporal_task_queue=task_queue,
        smtp_port=mail_sink.port,
        sms_gateway_url=f"{sms_gateway}/messages",
        sms_gateway_token=SecretStr(SMS_TOKEN),
        sms_timeout_seconds=2,
        bank_orders_url=f"{bank_gateway}/orders",
        bank_orders_token=SecretStr(BANK_TOKEN),
        bank_orders_timeout_seconds=2,
        reminder_working_days=[5, 1],
        webhook_allowed_hosts=["127.0.0.1"],  # the test receivers run on loopback
    )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4()}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def serving(app: FastAPI, port: int | None = None) -> AsyncIterator[str]:
    """Serve `app` with the product's uvicorn on a free loopback port; yields its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    async with running(Server(config, signals=False)):
        yield f"http://127.0.0.1:{port}"


@asynccontextmanager
async def running(server: Server) -> AsyncIterator[None]:
    """`server` serving until the block ends (or the block stops it)."""
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


_number_blocks = itertools.count()


def own_number_block(engine: Engine) -> None:
    """Audits started without an id take numbers from the database's counter; each test's
    fresh database counts from its own block, since the dev server (and every workflow id
    earlier tests started on it) outlives it."""
    with Session(engine) as session:
        year = local_date(datetime.now(UTC)).year
        session.add(AuditCounterRow(year=year, last=800_000 + next(_number_blocks) * 1000))
        session.commit()


@pytest_asyncio.fixture(loop_scope="session")
async def api(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings, task_queue: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP API over a real socket, with a real worker, on the Temporal dev server."""
    own_number_block(engine)
    app = create_app(settings, client=dev_env.client)
    async with (
        build_worker(dev_env.client, task_queue, engine, settings),
        serving(app) as url,
        httpx.AsyncClient(base_url=url, timeout=30, auth=ByEndpoint(Tokens(settings))) as client,
    ):
        yield client


@pytest.fixture
def tokens(settings: Settings) -> Tokens:
    return Tokens(settings)
