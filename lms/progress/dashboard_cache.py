"""The learner dashboard's main part, kept rendered per process while nothing it shows has changed.

Decision 0026. The part below the greeting and the notifications (the review section, the course
cards, the credentials held and the pathways) is what costs: five statements and twenty cards. It
is kept here, per app, keyed by the learner and their session's CSRF token (the renew form carries
the token), and served again while all of these hold:

- the learner's change stamp and the catalog's are the ones it was rendered under. Database triggers
  (migration 0012) replace a learner's stamp whenever any of their enrollments, completions, quiz
  attempts, capstone submissions, review cards or credentials is written, by whatever code or
  statement, and the catalog's whenever a course or a pathway is; so a write on any node is seen by
  every node's next request, with no invalidation message and no list of writers to keep up to date;
- the learner's email is verified or not as it was (the credential blockers say so);
- the clock has not reached the entry's ``fresh_until``: the first moment its text could read
  differently by time alone (a review card falling due, a credential expiring, its renewal window
  opening, its "expires in N days" changing, the next UTC midnight), and at most ``MAX_AGE`` after
  it was rendered, which bounds the cost of a time dependence this list would have missed.

The stamps are read *before* anything the entry is rendered from (``stamps``, first statement of
the request): a write committed in between then leaves an entry stamped older than its data, which
the next request renders again; the other order could keep stale data under a new stamp.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from markupsafe import Markup
from sqlalchemy import bindparam, literal_column, select
from sqlalchemy.orm import Session

from lms.progress.models import ChangeStamp

MAX_AGE = timedelta(minutes=10)

Stamps = tuple[int | None, int | None]  # the learner's, the catalog's (None: never written since 0012)

# One statement, built once: both stamps (the catalog scope written into the SQL).
_STAMPS = select(
    select(ChangeStamp.stamp).where(ChangeStamp.scope == bindparam("scope")).scalar_subquery(),
    select(ChangeStamp.stamp).where(ChangeStamp.scope == literal_column("'catalog'")).scalar_subquery(),
)


def stamps(db: Session, user_id: int) -> Stamps:
    """The learner's and the catalog's change stamps (one statement)."""
    learner, catalog = db.connection().execute(_STAMPS, {"scope": f"learner:{user_id}"}).one()
    return learner, catalog


def fresh_until(now: datetime, *, next_review_due: datetime | None,
                expiries: Iterable[tuple[datetime, datetime]]) -> datetime:
    """Until when a dashboard rendered at ``now`` reads the same if no row changes: the earliest of
    ``now + MAX_AGE``, the next UTC midnight, the next review card's due time, and for each credential
    (its expiry, when its renewal window opens) the first of those still ahead and the moment its
    "expires in N days" drops to N - 1."""
    midnight = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=UTC)
    moments = [now + MAX_AGE, midnight]
    if next_review_due is not None:
        moments.append(next_review_due)
    for valid_until, window_opens in expiries:
        moments.extend(moment for moment in (valid_until, window_opens) if moment > now)
        if valid_until > now:
            # (valid_until - now).days is N until now passes valid_until - N days.
            moments.append(valid_until - timedelta(days=(valid_until - now).days))
    return min(moments)


@dataclass(frozen=True)
class _Entry:
    stamps: Stamps
    email_verified: bool
    fresh_until: datetime
    body: Markup


class DashboardCache:
    """Rendered dashboard parts per (learner, CSRF token). Bounded: a full cache starts over, like the
    other per-process caches (a learner's next visit renders again, nothing is wrong for it)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[tuple[int, str], _Entry] = {}

    def get(self, user_id: int, csrf_raw: str | None, current: Stamps, email_verified: bool,
            now: datetime) -> Markup | None:
        if csrf_raw is None:
            return None
        entry = self._entries.get((user_id, csrf_raw))
        if (entry is None or entry.stamps != current or entry.email_verified != email_verified
                or now >= entry.fresh_until):
            return None
        return entry.body

    def put(self, user_id: int, csrf_raw: str | None, rendered_under: Stamps, email_verified: bool,
            until: datetime, body: Markup) -> None:
        if self.size <= 0 or csrf_raw is None:
            return
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[user_id, csrf_raw] = _Entry(rendered_under, email_verified, until, body)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
