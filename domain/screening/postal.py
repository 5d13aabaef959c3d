"""The postal rule: goods sent to one individual in commercial quantities, or split over
many parcels to stay under the duty-free personal-use limit.

Per recipient, a parcel with more than `max_units` units of one product type is flagged,
and so is every calendar month (by acceptance date) with more than `max_parcels` parcels.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from domain.screening.records import PostalItem


@dataclass(frozen=True)
class PostalRule:
    enabled: bool = True
    max_units: int = 3
    max_parcels: int = 3


class PostalFlag(BaseModel):
    """One finding; `key` names it so that screening the same items again finds it again
    under the same key, never as something new."""

    key: str
    kind: Literal["units", "parcels_per_month"]
    parcel_id: str
    recipient_iin: str
    score: Decimal
    evidence: dict[str, Any]


def postal_flags(items: Iterable[PostalItem], rule: PostalRule) -> list[PostalFlag]:
    """Findings over `items`, which must hold every item of the parcels and recipient-months
    in question (a parcel or month seen in part is judged on that part)."""
    if not rule.enabled:
        return []
    units: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    months: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for item in items:
        units[item.parcel_id, item.recipient_iin][item.product_type] += item.quantity
        month = item.accepted_on.strftime("%Y-%m")
        parcels = months[item.recipient_iin, month]
        day = item.accepted_on.isoformat()
        parcels[item.parcel_id] = min(parcels.get(item.parcel_id, day), day)
    flags = [
        _units_flag(parcel_id, recipient, by_type, rule)
        for (parcel_id, recipient), by_type in units.items()
        if max(by_type.values()) > rule.max_units
    ]
    flags += [
        _month_flag(recipient, month, parcels, rule)
        for (recipient, month), parcels in months.items()
        if len(parcels) > rule.max_parcels
    ]
    return flags


def _units_flag(
    parcel_id: str, recipient: str, by_type: dict[str, int], rule: PostalRule
) -> PostalFlag:
    over = {kind: count for kind, count in sorted(by_type.items()) if count > rule.max_units}
    return PostalFlag(
        key=f"units:{parcel_id}",
        kind="units",
        parcel_id=parcel_id,
        recipient_iin=recipient,
        score=_score(max(over.values()), rule.max_units),
        evidence={"limit": rule.max_units, "units_by_product_type": over},
    )


def _month_flag(
    recipient: str, month: str, parcels: dict[str, str], rule: PostalRule
) -> PostalFlag:
    ordered = sorted(parcels.items(), key=lambda pair: (pair[1], pair[0]))
    return PostalFlag(
        key=f"month:{recipient}:{month}",
        kind="parcels_per_month",
        parcel_id=ordered[rule.max_parcels][0],  # the first parcel over the limit
        recipient_iin=recipient,
        score=_score(len(ordered), rule.max_parcels),
        evidence={
            "limit": rule.max_parcels,
            "month": month,
            "parcels": [{"parcel_id": p, "accepted_on": day} for p, day in ordered],
        },
    )


def _score(found: int, limit: int) -> Decimal:
    """How many times over the limit: comparable across recipients, above 1 when flagged."""
    return (Decimal(found) / limit).quantize(Decimal("0.0001"))
