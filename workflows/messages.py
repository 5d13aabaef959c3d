"""What the `CameralAudit` workflow takes and answers besides the domain's own types.

They are pydantic models, and the sandbox would build them again for every case it starts
(each run imports the workflow's modules afresh), so they live apart from the workflow code
and pass through the sandbox: built once per worker, like the domain's models.
"""

from typing import Literal

from pydantic import BaseModel

from domain.case import CaseEvent, ReviewDecision
from domain.case_state import CaseState
from domain.consequences import RevocationDecision
from domain.lifecycle import AuditStatus


class CarriedCase(BaseModel):
    """What a run hands to the next one when the history grows long (continue-as-new): the
    state and only the events the read model has not stored yet, so what is carried stays
    the size of the state however long the case lives. The earlier events are in the read
    model's trail, which fills in the rest of the `snapshot` query's list for users."""

    state: CaseState
    events: list[CaseEvent]  # from its place `first_index` in the case's trail
    published: int
    first_index: int = 0  # runs from before carried every event


class ReviewOrder(BaseModel):
    """A review decision with the role of whoever takes it (overdue reviews: supervisors)."""

    decision: ReviewDecision
    role: str = "inspector"


class RevocationOrder(BaseModel):
    """A revocation decision with the role of whoever takes it (only supervisors may)."""

    decision: RevocationDecision
    role: str = "inspector"


class PaymentResult(BaseModel):
    result: Literal["accepted", "duplicate", "closed"]
    status: AuditStatus
