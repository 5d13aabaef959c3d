"""Delivery into the party's personal cabinet, which the law counts as official service."""

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio import activity

from db.models import CabinetNoticeRow
from domain.tasks import PLACE_IN_CABINET, CabinetNotice


class CabinetActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=PLACE_IN_CABINET)
    def place_notice_in_cabinet(self, notice: CabinetNotice) -> None:
        """Idempotent: a retry finds the notice already there and leaves it as it was."""
        with Session(self._engine) as session:
            existing = session.exec(
                select(CabinetNoticeRow).where(
                    CabinetNoticeRow.audit_id == notice.audit_id,
                    CabinetNoticeRow.kind == notice.kind,
                )
            ).first()
            if existing is None:
                session.add(CabinetNoticeRow(**notice.model_dump()))
                session.commit()
