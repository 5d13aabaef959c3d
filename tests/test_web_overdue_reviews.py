"""The supervisor's view of overdue reviews on the dashboard: a case whose review window has
passed (on the time-skipping server) is listed, marked in words, for a supervisor of its
office and for nobody else."""

import asyncio
import re
from datetime import timedelta

import httpx
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from config import Settings
from domain.lifecycle import AuditStatus
from tests.cases import start_case, wait_for
from tests.conftest import serving
from tests.factories import audit_start, explanation_for
from tests.pages import session_cookie, signed_in
from tests.tokens import FOREIGN_OFFICE
from worker import build_worker
from workflows.cameral_audit import CameralAudit

OVERDUE_SECTION = re.compile(r'<h2 id="overdue-h">Overdue reviews</h2>(.*?)</section>', re.S)


def overdue_section(board: str) -> str:
    found = OVERDUE_SECTION.search(board)
    assert found is not None, "no overdue reviews on this board"
    return found[1]


async def test_a_passed_review_window_shows_for_the_supervisor_of_that_office_only(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    app = create_app(settings, client=time_env.client)
    async with build_worker(time_env.client, task_queue, engine, settings), serving(app) as site:
        ids = []
        for office, inspector_id in (("55201", "I-001"), (FOREIGN_OFFICE, "I-9")):
            handle = await start_case(
                time_env.client,
                task_queue,
                audit_start(customs_office=office, inspector_id=inspector_id),
            )
            case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
            await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
            ids.append(case.id)
        own, foreign = ids
        supervisor = await signed_in(site, "supervisor")
        inspector = await signed_in(site, "inspector")
        elsewhere = httpx.AsyncClient(
            base_url=site,
            headers={"Accept-Language": "en"},
            cookies={"ca_session": session_cookie(app, "supervisor", office=FOREIGN_OFFICE)},
        )
        try:
            before = overdue_section((await supervisor.get("/dashboard")).text)
            assert own not in before and "No review is overdue." in before
            await time_env.sleep(timedelta(days=30))  # past ten working days
            for _ in range(100):  # the read model follows the case a moment later
                board = (await supervisor.get("/dashboard")).text
                if own in overdue_section(board):
                    break
                await asyncio.sleep(0.1)
            listed = overdue_section(board)
            assert re.search(
                rf'<strong>⚠ Overdue</strong> <a href="/dashboard/audits/{own}">', listed
            )
            assert foreign not in listed
            other_office = overdue_section((await elsewhere.get("/dashboard")).text)
            assert foreign in other_office and own not in other_office
            assert "Overdue reviews" not in (await inspector.get("/dashboard")).text
        finally:
            for client in (supervisor, inspector, elsewhere):
                await client.aclose()
