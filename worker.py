"""The Temporal worker: runs `CameralAudit` workflows and their activities.

`build_worker` is shared by `customs-audit dev`, `customs-audit worker`, `python worker.py`
and the tests, so all of them run exactly the same registration.
"""

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from temporalio import workflow
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.client import Client
from temporalio.converter import DataConverter, StorageDriverStoreContext
from temporalio.worker import Interceptor, Worker, WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.bank import BankActivities
from activities.cabinet import CabinetActivities
from activities.charges import ChargeActivities
from activities.deadlines import DeadlineActivities
from activities.documents import DocumentActivities
from activities.email import EmailActivities
from activities.projection import ProjectionActivities
from activities.screening import ScreeningActivities
from activities.seal import load_seal
from activities.sms import SmsActivities
from activities.webhook import WebhookActivities
from config import Settings
from db.engine import make_engine
from db.migrate import upgrade
from db.reference import load_rate_tables
from workflows.cameral_audit import CameralAudit
from workflows.client import connect, metrics_runtime
from workflows.risk_screening import RiskScreening
from workflows.screening_schedule import ensure_schedule

ACTIVITY_THREADS = 16


def build_worker(
    client: Client,
    task_queue: str,
    engine: Engine,
    settings: Settings | None = None,
    interceptors: Sequence[Interceptor] = (),
    more_workflows: Sequence[type] = (),
) -> Worker:
    """A worker for `task_queue` whose activities write to `engine`'s database and reach
    the channels `settings` name (`interceptors`: tracing or measuring, as Temporal's;
    `more_workflows`: others that call these activities, as a benchmark's yardstick does)."""
    settings = settings or Settings()
    cabinet = CabinetActivities(engine)
    deadlines = DeadlineActivities(
        engine, settings.reminder_working_days, settings.payment_posting_working_days
    )
    documents = DocumentActivities(engine, settings.public_base_url, load_seal(settings))
    email = EmailActivities(engine, settings)
    sms = SmsActivities(engine, settings)
    webhook = WebhookActivities(engine, settings)
    bank = BankActivities(engine, settings)
    projection = ProjectionActivities(engine)
    tables = load_rate_tables(settings.rates_file)
    charges = ChargeActivities(tables, settings.penalty_terms)
    screening = ScreeningActivities(engine, settings, tables)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[CameralAudit, RiskScreening, *more_workflows],
        activities=[
            documents.render_document,
            cabinet.place_document_in_cabinet,
            cabinet.dispatch_registered_mail,
            email.send_email_alert,
            email.notify_staff,
            sms.send_sms_alert,
            webhook.send_webhook_alert,
            bank.send_bank_order,
            charges.fix_case_terms,
            deadlines.compute_deadline,
            deadlines.compute_reminder_days,
            projection.save_case_projection,
            screening.open_run,
            screening.screen_prices,
            screening.screen_postal,
            screening.close_run,
        ],
        activity_executor=ThreadPoolExecutor(ACTIVITY_THREADS),
        workflow_runner=workflow_runner(client.data_converter),
        interceptors=interceptors,
    )


def workflow_runner(converter: DataConverter | None = None) -> SandboxedWorkflowRunner:
    """The sandbox the workflow runs in (shared with replay tests); domain models and pydantic
    are passed through so the sandbox does not re-import them for every workflow.

    Without a payload codec or external storage (`converter`, the client's), payloads are
    encoded the same whatever the serialization context, so the worker does not ask the
    sandbox for one: it did so several times per activation, each a trip into the sandbox
    that cost about as much as running the activation itself."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules(
        "domain", "pydantic", "holidays"
    )
    if converter is not None and (converter.payload_codec or converter.external_storage):
        return SandboxedWorkflowRunner(restrictions=restrictions)
    return _ContextFreeSandbox(restrictions=restrictions)


@dataclass(frozen=True)
class _ContextFreeSandbox(SandboxedWorkflowRunner):
    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _ContextFreeInstance(super().create_instance(det))


class _ContextFreeInstance(WorkflowInstance):
    """A sandboxed workflow that answers "no serialization context" without entering the
    sandbox; the SDK then encodes with the worker's plain converter, which has no codec."""

    def __init__(self, sandboxed: WorkflowInstance) -> None:
        self._sandboxed = sandboxed

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        return self._sandboxed.activate(act)

    def get_serialization_context(self, command_info: object) -> None:
        return None

    def get_external_store_context(self, command_info: object) -> StorageDriverStoreContext:
        return StorageDriverStoreContext(target=None)

    def get_info(self) -> workflow.Info:
        return self._sandboxed.get_info()

    def get_thread_id(self) -> int | None:
        return self._sandboxed.get_thread_id()


async def run_worker(settings: Settings) -> None:
    upgrade(settings.effective_database_url)
    runtime = metrics_runtime(settings.worker_metrics_address)
    client = await connect(settings.temporal_address, settings.temporal_namespace, runtime)
    engine = make_engine(settings.effective_database_url)
    await ensure_schedule(
        client, settings.temporal_task_queue, settings.screening_cron, settings.screening_schedule
    )
    await build_worker(client, settings.temporal_task_queue, engine, settings).run()


def main() -> None:
    from cli import main as cli_main

    cli_main(["worker"])


if __name__ == "__main__":
    main()
