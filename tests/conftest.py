"""Shared real servers: the time-skipping test server and the Temporal dev server."""

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.engine import Engine
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from config import SEARCH_ATTRIBUTES
from db.engine import make_engine
from db.migrate import upgrade
from devserver import find_binary, register_search_attributes
from workflows.cameral_audit import (
    AMOUNT_DUE,
    INSPECTOR,
    OFFICE,
    PARTY_BIN,
    RESPONSE_DEADLINE,
    REVIEW_DEADLINE,
    REVIEW_OVERDUE,
    STATUS,
)

SEARCH_ATTRIBUTE_KEYS = [
    STATUS,
    PARTY_BIN,
    INSPECTOR,
    OFFICE,
    RESPONSE_DEADLINE,
    REVIEW_DEADLINE,
    AMOUNT_DUE,
    REVIEW_OVERDUE,
]
assert {k.name for k in SEARCH_ATTRIBUTE_KEYS} == set(SEARCH_ATTRIBUTES)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=find_binary("temporal-test-server"),
    )
    await register_search_attributes(env.client, "default")
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=find_binary("temporal"),
        search_attributes=SEARCH_ATTRIBUTE_KEYS,
    )
    yield env
    await env.shutdown()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4()}"
