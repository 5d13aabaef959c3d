"""Delivery into the party's personal cabinet, which the law counts as official service, and
dispatch of registered mail for parties served on paper."""

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio import activity

from activities.delivery_log import deliver_once
from db.models import CabinetNoticeRow
from domain.clock import local_date
from domain.notices import Channel
from domain.tasks import (
    DISPATCH_REGISTERED_MAIL,
    PLACE_IN_CABINET,
    AlertRequest,
    CabinetPlacement,
    DeliveryOutcome,
)


class CabinetActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=PLACE_IN_CABINET)
    def place_document_in_cabinet(self, placement: CabinetPlacement) -> DeliveryOutcome:
        """Idempotent: a retry finds the document already there and leaves it as it was."""
        document = placement.document

        def placed() -> CabinetNoticeRow | None:
            with Session(self._engine) as session:
                return session.exec(
                    select(CabinetNoticeRow).where(
                        CabinetNoticeRow.audit_id == placement.audit_id,
                        CabinetNoticeRow.document_id == document.document_id,
                    )
                ).first()

        def place() -> str:
            row = placed()
            if row is None:
                with Session(self._engine) as session:
                    row = CabinetNoticeRow(
                        audit_id=placement.audit_id,
                        party_bin=placement.party_bin,
                        document_id=document.document_id,
                        title=document.title,
                        # The moment of the commit (a test server's clock may run ahead).
                        published_at=max(datetime.now(UTC), placement.requested_at),
                    )
                    session.add(row)
                    session.commit()
                    session.refresh(row)
            return f"cabinet-{row.id}"

        outcome = deliver_once(
            self._engine,
            audit_id=placement.audit_id,
            document_number=document.number,
            channel=Channel.CABINET,
            send=place,
        )
        row = placed()
        assert row is not None
        # Legal delivery is the Almaty day the document actually landed in the cabinet,
        # not the moment serving began: a placement after midnight counts for the new day.
        return outcome.model_copy(update={"delivered_on": local_date(_aware(row.published_at))})

    @activity.defn(name=DISPATCH_REGISTERED_MAIL)
    def dispatch_registered_mail(self, request: AlertRequest) -> DeliveryOutcome:
        """Queue the printed letter for the post office; the receipt comes back over HTTP.

        There is no postal API here: the record is the instruction to the mail room, and its
        tracking number is the document number until the post assigns one.
        """
        return deliver_once(
            self._engine,
            audit_id=request.audit_id,
            document_number=request.document.number,
            channel=Channel.REGISTERED_MAIL,
            send=lambda: f"RM-{request.document.number}",
        )


def _aware(moment: datetime) -> datetime:
    """SQLite gives timestamps back without their zone; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
