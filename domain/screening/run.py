"""Names and payloads of a screening run's steps, shared by the workflow, its activities and
the API (which reads the same progress)."""

from datetime import date
from typing import Literal

from pydantic import BaseModel

OPEN_RUN = "open_screening_run"
SCREEN_PRICES = "screen_price_batch"
SCREEN_POSTAL = "screen_postal_items"
CLOSE_RUN = "close_screening_run"
WORKFLOW = "RiskScreening"

Trigger = Literal["schedule", "manual"]
RunStatus = Literal["queued", "running", "completed", "failed"]


class RunOrder(BaseModel):
    """What starts a run: the schedule (no run row yet) or a user (the API made the row)."""

    run_id: int | None = None
    trigger: Trigger = "schedule"


class Batch(BaseModel):
    """Pending lines of a range of 6-digit headings: batches never share a heading, so
    each one holds every reference sample its lines need."""

    first_hs6: str
    last_hs6: str
    first_day: date
    last_day: date
    lines: int


class RunPlan(BaseModel):
    run_id: int
    upto_line_id: int
    upto_item_id: int
    batches: list[Batch]


class BatchOrder(BaseModel):
    run_id: int
    upto_line_id: int
    index: int
    batch: Batch


class Counted(BaseModel):
    """What one step changed: rows it judged for the first time, candidates it added."""

    screened: int
    candidates: int


class PostalOrder(BaseModel):
    run_id: int
    upto_item_id: int


class RunClose(BaseModel):
    run_id: int
    status: RunStatus
    error: str | None = None


class Progress(BaseModel):
    """A run as the workflow query and `GET /screening/runs/{id}` show it."""

    run_id: int | None = None
    status: RunStatus = "queued"
    batches_total: int = 0
    batches_done: int = 0
    lines_screened: int = 0
    items_screened: int = 0
    price_candidates: int = 0
    postal_candidates: int = 0
