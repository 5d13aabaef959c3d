"""Valid inputs a test can start from and then spoil one field at a time."""

import itertools
from decimal import Decimal
from typing import Any

from domain.case import AuditStart, CaseSnapshot, Explanation, ReviewDecision
from domain.consequences import RevocationDecision
from domain.identifiers import bin_check_digit, format_audit_id
from workflows.messages import ReviewOrder, RevocationOrder

_numbers = itertools.count(1)


def make_bin(first_eleven: str = "95040000045") -> str:
    """Complete 11 digits into a BIN with a correct check digit (skipping unusable stems)."""
    stem = int(first_eleven)
    while (check := bin_check_digit(f"{stem:011d}")) is None:
        stem += 1
    return f"{stem:011d}{check}"


PARTY_BIN = make_bin()


def next_audit_id() -> str:
    return format_audit_id(2026, 900_000 + next(_numbers))


def start_body(audit_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "audit_id": audit_id or next_audit_id(),
        "customs_office": "55201",
        "inspector_id": "I-001",
        "party": {
            "bin": PARTY_BIN,
            "name": "Steppe Fittings LLP",
            "email": "customs@steppe.kz",
            "phone": "+77011234567",
            "language": "ru",
        },
        "declarations": ["55201/050326/0001234"],
        "findings": "Declared price 2.5 EUR/pc below similar goods at 2.8-3.0 EUR/pc.",
        "charges": {
            "customs_duty": "662130.00",
            "vat": "611559.60",
            "customs_fee": "20000.00",
            "penalty": "0",
        },
    }
    body.update(overrides)
    return body


def audit_start(audit_id: str | None = None, **overrides: Any) -> AuditStart:
    return AuditStart.model_validate(start_body(audit_id, **overrides))


AMOUNT_DUE = Decimal("1293689.60")


def explanation_body(case: CaseSnapshot | dict[str, Any], **overrides: Any) -> dict[str, Any]:
    data = case.model_dump(mode="json") if isinstance(case, CaseSnapshot) else case
    body: dict[str, Any] = {
        "text": "The declared price is the price actually paid; see the SWIFT copy.",
        "signed_on": data["issued_on"],
        "party_name": "Steppe Fittings LLP",
        "party_address": "Almaty, Abay ave. 1",
        "party_bin": data["party_bin"],
        "customs_authority": "Customs post 55201",
        "notification_number": data["notification_number"],
        "notification_date": data["issued_on"],
        "grounds": "Art. 38 of the EAEU Customs Code: transaction value method.",
        "no_documents_reason": "The declaration already holds the SWIFT copy and contract.",
    }
    body.update(overrides)
    return body


def explanation_for(case: CaseSnapshot, **overrides: Any) -> Explanation:
    return Explanation.model_validate(explanation_body(case, **overrides))


def review_order(role: str = "inspector", **decision: Any) -> ReviewOrder:
    """A review decision as the API hands it to the workflow, with the decider's role."""
    return ReviewOrder(decision=ReviewDecision(**decision), role=role)


def revocation_order(
    decision: str = "revoke", role: str = "supervisor", **more: Any
) -> RevocationOrder:
    return RevocationOrder(
        decision=RevocationDecision.model_validate({"decision": decision, **more}), role=role
    )
