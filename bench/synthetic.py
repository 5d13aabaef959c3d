"""Synthetic read-model rows for listing tests and the listing benchmark."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from db.models import NO_DEADLINE

STATUSES = ("AWAITING_RESPONSE", "UNDER_REVIEW", "FULFILLED", "UNFULFILLED", "CANCELLED")
OFFICES = tuple(f"{55000 + n:05d}" for n in range(40))


def audit_rows(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` projection rows spread over 40 offices, 400 inspectors, 5 000 parties."""
    rng = random.Random(seed)
    start = date(2026, 1, 5)
    rows = []
    for n in range(count):
        status = rng.choice(STATUSES)
        deadline = start + timedelta(days=rng.randrange(0, 365))
        running = status in ("AWAITING_RESPONSE", "UNDER_REVIEW")
        rows.append(
            {
                "id": f"CA-2026-{n:06d}",
                "version": 3,
                "status": status,
                "customs_office": rng.choice(OFFICES),
                "inspector_id": f"I-{rng.randrange(400):03d}",
                "party_bin": f"{rng.randrange(5000):012d}",
                "party_name": f"Party {n}",
                "issued_on": start,
                "delivered_on": start,
                "response_deadline": deadline,
                "review_deadline": deadline if status == "UNDER_REVIEW" else None,
                "next_deadline": deadline if running else NO_DEADLINE,
                "overdue": status == "UNDER_REVIEW" and rng.random() < 0.1,
                "amount_due": Decimal("1293689.60"),
                "amount_paid": Decimal("0"),
                "snapshot": {},
                "updated_at": datetime.now(UTC),
            }
        )
    return rows
