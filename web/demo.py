"""The demo identities the embedded default's sign-in page offers (dev key only)."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DemoIdentity:
    key: str
    label: str
    claims: dict[str, Any]


OFFICE = "55201"
PARTY_BIN = "950400000459"
DEMO_IDENTITIES = (
    DemoIdentity(
        "inspector", "Inspector I-001", {"sub": "I-001", "role": "inspector", "office": OFFICE}
    ),
    DemoIdentity(
        "supervisor", "Supervisor S-001", {"sub": "S-001", "role": "supervisor", "office": OFFICE}
    ),
    DemoIdentity(
        "party", "Steppe Fittings LLP", {"sub": PARTY_BIN, "role": "party", "bin": PARTY_BIN}
    ),
    DemoIdentity("treasury", "Treasury feed", {"sub": "treasury-feed", "role": "treasury"}),
    DemoIdentity("operator", "Operator O-001", {"sub": "O-001", "role": "operator"}),
)
