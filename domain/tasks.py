"""Names and payloads of the side effects a case asks for.

The workflow refers to activities by these names so that it never imports the I/O code; the
activities register under the same names.
"""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

PLACE_IN_CABINET = "place_notice_in_cabinet"
COMPUTE_DEADLINE = "compute_deadline"
SAVE_PROJECTION = "save_case_projection"


class CabinetNotice(BaseModel):
    audit_id: str
    party_bin: str
    kind: Literal["notification", "acceptance", "decision_unfulfilled", "cancellation"]
    title: str
    published_at: datetime


DeadlineKind = Literal["response", "review"]


class DeadlineRequest(BaseModel):
    kind: DeadlineKind
    counted_from: date
