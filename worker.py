"""The Temporal worker: runs `CameralAudit` workflows and their activities.

`build_worker` is shared by `customs-audit dev`, `customs-audit worker`, `python worker.py`
and the tests, so all of them run exactly the same registration.
"""

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.cabinet import CabinetActivities
from activities.deadlines import DeadlineActivities
from activities.projection import ProjectionActivities
from config import Settings
from db.engine import make_engine
from db.migrate import upgrade
from workflows.cameral_audit import CameralAudit
from workflows.client import connect

ACTIVITY_THREADS = 16


def build_worker(client: Client, task_queue: str, engine: Engine) -> Worker:
    """A worker for `task_queue` whose activities write to `engine`'s database."""
    cabinet = CabinetActivities(engine)
    deadlines = DeadlineActivities(engine)
    projection = ProjectionActivities(engine)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[CameralAudit],
        activities=[
            cabinet.place_notice_in_cabinet,
            deadlines.compute_deadline,
            projection.save_case_projection,
        ],
        activity_executor=ThreadPoolExecutor(ACTIVITY_THREADS),
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(
                "domain", "pydantic", "holidays"
            )
        ),
    )


async def run_worker(settings: Settings) -> None:
    upgrade(settings.effective_database_url)
    client = await connect(settings.temporal_address, settings.temporal_namespace)
    engine = make_engine(settings.effective_database_url)
    await build_worker(client, settings.temporal_task_queue, engine).run()


def main() -> None:
    from cli import main as cli_main

    cli_main(["worker"])


if __name__ == "__main__":
    main()
