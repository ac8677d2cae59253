"""Recording audit events."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lms.audit.models import AuditEvent


def record(db: Session, action: str, subject_type: str, subject_id: int | None,
           actor_id: int | None = None, **data) -> AuditEvent:
    """Add an audit event to the current transaction (it commits or rolls back with the action)."""
    event = AuditEvent(action=action, subject_type=subject_type, subject_id=subject_id,
                       actor_id=actor_id, data=data)
    db.add(event)
    return event
