"""Documents a case issues and the channels that carry them.

Only the cabinet (or a postal receipt / inspection act) is legal delivery; e-mail, SMS and
webhooks are alerts that point the party to the document and never decide a deadline.
"""

from enum import StrEnum


class DocumentKind(StrEnum):
    NOTIFICATION = "notification"
    MEMO = "anti_corruption_memo"
    REMINDER = "reminder"
    ACCEPTANCE = "acceptance_notice"
    DECISION = "decision_unfulfilled"
    DOCUMENT_REQUEST = "document_request"
    # What may follow an unfulfilled notification (domain/consequences.py).
    REVOCATION = "decision_revocation"
    SUSPENSION_ORDER = "suspension_order"
    LIFTING_ORDER = "lifting_order"


_CODES = {
    DocumentKind.NOTIFICATION: "N",
    DocumentKind.MEMO: "M",
    DocumentKind.REMINDER: "R",
    DocumentKind.ACCEPTANCE: "A",
    DocumentKind.DECISION: "D",
    DocumentKind.DOCUMENT_REQUEST: "Q",
    DocumentKind.REVOCATION: "V",
    DocumentKind.SUSPENSION_ORDER: "S",
    DocumentKind.LIFTING_ORDER: "L",
}


def document_number(audit_id: str, kind: DocumentKind, sequence: int) -> str:
    """Stable, human-quotable number: the case id, a letter for the kind and a counter."""
    return f"{audit_id}/{_CODES[kind]}{sequence}"


class Channel(StrEnum):
    CABINET = "cabinet"
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"
    REGISTERED_MAIL = "registered_mail"
    # Orders on the party's bank accounts (Art. 125) go to the banks' channel, not the party.
    BANK = "bank"


ALERT_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.WEBHOOK)


class DeliveryStatus(StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    SKIPPED = "skipped"  # the party has no address for this channel
    TEMPORARY_FAILURE = "temporary-failure"
    PERMANENT_FAILURE = "permanent-failure"


class DeliveryMethod(StrEnum):
    """How the notification is legally served."""

    CABINET = "cabinet"
    REGISTERED_MAIL = "registered_mail"
    # Handed to the party's representative against signature; the period counts from the
    # day of the signature, as from a postal receipt.
    HAND = "hand"


def idempotency_key(audit_id: str, document_number: str, channel: Channel) -> str:
    """One alert per case, document and channel, however often the activity is retried."""
    return f"{audit_id}:{document_number}:{channel}"
