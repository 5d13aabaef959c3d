"""Search attributes operators filter cases by in the Temporal UI (DESIGN.md §4)."""

from typing import Any

from temporalio.common import SearchAttributeKey

STATUS = SearchAttributeKey.for_keyword("AuditStatus")
PARTY_BIN = SearchAttributeKey.for_keyword("PartyBin")
INSPECTOR = SearchAttributeKey.for_keyword("InspectorId")
OFFICE = SearchAttributeKey.for_keyword("CustomsOffice")
RESPONSE_DEADLINE = SearchAttributeKey.for_datetime("ResponseDeadline")
REVIEW_DEADLINE = SearchAttributeKey.for_datetime("ReviewDeadline")
AMOUNT_DUE = SearchAttributeKey.for_float("AmountDue")
REVIEW_OVERDUE = SearchAttributeKey.for_bool("ReviewOverdue")
# Risk screening runs: how far a run is and what it found so far.
SCREENING_STATUS = SearchAttributeKey.for_keyword("ScreeningStatus")
SCREENING_PROGRESS = SearchAttributeKey.for_float("ScreeningProgress")
SCREENING_CANDIDATES = SearchAttributeKey.for_int("ScreeningCandidates")

SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[Any], ...] = (
    STATUS,
    PARTY_BIN,
    INSPECTOR,
    OFFICE,
    RESPONSE_DEADLINE,
    REVIEW_DEADLINE,
    AMOUNT_DUE,
    REVIEW_OVERDUE,
    SCREENING_STATUS,
    SCREENING_PROGRESS,
    SCREENING_CANDIDATES,
)
