"""Why the case refuses a command, worded once for the API and the pages.

A refusal is one of `REASONS`: an English sentence with named values. The API answers with
the sentence filled in (its `detail`, unchanged in English for programs and logs); the pages
translate the sentence and its phrases through the catalogues and format its dates and
statuses in the reader's language. Each value travels tagged with its kind, since a refusal
reaches the pages through the workflow as plain JSON.
"""

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic_core import PydanticCustomError

from domain.lifecycle import AuditStatus
from domain.wording import N_

REASONS: dict[str, str] = {
    "payments_too_large": N_("payments would add up to more than %(limit)s KZT; check the amount"),
    "explanation_exists": N_("an explanation was already submitted"),
    "response_deadline_passed": N_("the response deadline %(deadline)s (24:00 Almaty) has passed"),
    "not_as_notified": N_("%(subject)s is %(given)s, but the notification says %(wanted)s"),
    "no_such_request": N_("there is no document request %(request)s"),
    "request_answered": N_("request %(request)s was already answered at %(answered_at)s"),
    "review_overdue": N_("the review is overdue: a supervisor decides it now"),
    "wrong_status": N_(
        "%(what)s is only accepted while the case is %(expected)s; it is %(status)s"
    ),
    "case_closed": N_("the case is already %(status)s; a closed case cannot be %(what)s"),
    "already_served": N_(
        "%(what)s is not taken: the notification was already served on %(served_on)s"
    ),
    "mail_returned": N_(
        "%(what)s is not taken: the mail came back on %(returned_on)s; record an inspection act"
    ),
    "not_awaited": N_(
        "%(what)s is only accepted while the case awaits a %(awaiting)s; it is %(now)s"
    ),
    "decision_not_issued": N_("the decision is not issued yet; an appeal follows its issue"),
    "appeal_exists": N_("an appeal was already filed on %(filed_at)s"),
    "appeal_period_passed": N_(
        "the appeal period ended on %(deadline)s (24:00 Almaty); the decision is final"
    ),
    "no_revocation_proposed": N_(
        "nothing to revoke: no payment dated within the period was posted after the decision"
    ),
    "supervisor_only": N_("only a supervisor can %(what)s"),
    "not_a_declaration": N_("%(declaration)s is not a declaration of this notification"),
    "all_accepted": N_(
        "every declaration is accepted: accept the explanation instead of accepting it in part"
    ),
    "charges_not_for_lines": N_(
        "the charges of an audit started from lines are recomputed from them; do not give charges"
    ),
    "charges_needed": N_("give the charges still owed after the part that is accepted"),
    "nothing_left": N_(
        "the declarations not accepted add no charge: accept the explanation instead"
    ),
    "raises_a_charge": N_("a reduction cannot raise a charge; that needs a new notification"),
    "not_lower": N_("the reduced charges must be lower in total than the %(total)s KZT owed"),
    # Input values, as the pages word them (the API keeps pydantic's own messages).
    "implausible_date": N_("%(day)s is outside %(earliest)s..%(latest)s"),
    "field_required": N_("this field is required"),
    "too_short": N_("at least %(limit)s characters"),
    "too_long": N_("at most %(limit)s characters"),
    "too_many": N_("at most %(limit)s items"),
    "not_a_date": N_("a date, like 2026-03-05"),
    "not_a_number": N_("a number, like 1250.50"),
    "not_an_integer": N_("a whole number"),
    "not_above": N_("must be greater than %(limit)s"),
    "below": N_("must be at least %(limit)s"),
    "not_below": N_("must be less than %(limit)s"),
    "above": N_("must be at most %(limit)s"),
    "too_many_digits": N_("at most %(limit)s digits"),
    "too_many_places": N_("at most %(limit)s digits after the decimal point"),
    "not_a_choice": N_("choose one of %(expected)s"),
    "wrong_format": N_("this is not in the expected format"),
    "date_out_of_range": N_(
        "%(subject)s %(day)s must be between %(earliest)s (%(since)s) and today %(today)s"
    ),
}


class Phrase(StrEnum):
    """Words a refusal puts into its sentence, translated as a whole (the English text is
    what the API has always said, field names and awaited steps included)."""

    DISPATCH = N_("Dispatch by registered mail")
    HANDOVER = N_("A handover")
    HAND_SIGNATURE_RECEIPT = N_("A signature for the documents")
    POSTAL_RECEIPT_RECORD = N_("A postal receipt")
    RETURNED_MAIL = N_("A returned-mail report")
    INSPECTION_ACT_RECORD = N_("An inspection act")
    EXPLANATION = N_("An explanation")
    DOCUMENT_REQUEST = N_("A request for documents")
    DOCUMENTS = N_("Documents for a request")
    REVIEW = N_("A review decision")
    CANCELLED = N_("cancelled")
    REASSIGNED = N_("reassigned")
    POSTAL_RECEIPT = N_("postal_receipt")
    HAND_SIGNATURE = N_("hand_signature")
    INSPECTION_ACT = N_("inspection_act")
    PARTY_BIN = N_("party_bin")
    NOTIFICATION_NUMBER = N_("notification_number")
    NOTIFICATION_DATE = N_("notification_date")
    DELIVERED_ON = N_("delivered_on")
    RETURNED_ON = N_("returned_on")
    ACT_DATE = N_("act_date")
    ISSUED = N_("the notification was issued")
    DECIDED = N_("the decision was issued")
    APPEAL = N_("An appeal")
    APPEAL_OUTCOME = N_("An appeal's outcome")
    DECISION_RECEIPT = N_("A receipt for the decision")
    REVOKE = N_("revoke a decision")
    MAIL_CAME_BACK = N_("the mail came back")


Value = date | datetime | AuditStatus | Phrase | str | int
# Tagged for the journey as JSON: (kind, text), kind one of date, moment, status, phrase, text.
Portable = dict[str, tuple[str, str]]


def _tagged(value: Value) -> tuple[str, str]:
    if isinstance(value, datetime):
        return "moment", str(value)
    if isinstance(value, date):
        return "date", value.isoformat()
    if isinstance(value, AuditStatus):
        return "status", str(value)
    if isinstance(value, Phrase):
        return "phrase", str(value)
    return "text", str(value)


@dataclass(frozen=True)
class Wording:
    """A refusal's sentence (one of `REASONS`) and its tagged values."""

    reason: str
    values: Portable

    @classmethod
    def of(cls, reason: str, **values: Value) -> "Wording":
        return cls(reason, {name: _tagged(value) for name, value in values.items()})

    @classmethod
    def from_details(cls, details: object) -> "Wording | None":
        """The wording a refusal's JSON details carry, if they carry a known one."""
        if not isinstance(details, dict) or details.get("reason") not in REASONS:
            return None
        values = details.get("values")
        if not isinstance(values, dict):
            return None
        tagged = {
            str(name): (str(pair[0]), str(pair[1]))
            for name, pair in values.items()
            if isinstance(pair, list | tuple) and len(pair) == 2
        }
        return cls(str(details["reason"]), tagged)

    def english(self) -> str:
        """The sentence as the API says it."""
        return REASONS[self.reason] % {name: text for name, (_kind, text) in self.values.items()}


def refused_input(reason: str, **values: Value) -> PydanticCustomError:
    """An input value refused in the words of REASONS: pydantic keeps the reason as the
    error's type and the tagged values as its context, so a page can word it in its own
    language, while the API shows the English sentence."""
    wording = Wording.of(reason, **values)
    return PydanticCustomError(reason, wording.english(), {"values": wording.values})


RefusalCode = Literal["wrong_state", "invalid_input", "forbidden"]


class Refused(Exception):
    """A command the case does not take now; `code` says how the caller should read it, and
    `reason` with its `values` says why, in words the pages can translate (domain/refusals)."""

    def __init__(
        self, code: RefusalCode, reason: str, field: str | None = None, **values: Value
    ) -> None:
        self.wording = Wording.of(reason, **values)
        self.message = self.wording.english()
        super().__init__(self.message)
        self.code = code
        self.field = field
