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

SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[Any], ...] = (
    STATUS,
    PARTY_BIN,
    INSPECTOR,
    OFFICE,
    RESPONSE_DEADLINE,
    REVIEW_DEADLINE,
    AMOUNT_DUE,
    REVIEW_OVERDUE,
)
