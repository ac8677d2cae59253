"""The dashboard's course cards, rendered in Python from per-course-version fragments.

The cards are most of the dashboard, and with twenty enrollments a Jinja loop over them cost more
than everything else on the page (docs/decisions/0020-learner-dashboard-rendering.md). What a card
shows of the course itself (its address and title, each step's link and label, the quizzes' numbers,
whether it has a capstone) is the same for every learner, so it is escaped and joined once per course
version (``CardFragments``); a request only fills in this learner's numbers and states, escaping
whatever of them is text. The markup is exactly what the template's loop produced, byte for byte
(tests/progress/test_dashboard.py compares the two).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

from flask import url_for
from markupsafe import Markup, escape

from lms.catalog.services import Outline
from lms.credentials.eligibility import Eligibility
from lms.progress.services import CourseCard
from lms.templating import _human_date

CAPSTONE_STATES = {"draft": "draft saved, not submitted", "submitted": "waiting for a grader",
                   "in_review": "being graded", "needs_revision": "needs revision", "passed": "passed",
                   "not_passed": "not passed"}


@dataclass(frozen=True)
class CardFragments:
    """The escaped, learner-independent parts of one course version's card."""

    content_hash: str
    head: str  # from <li> to the progress element's value attribute
    aria: str  # the progress element's label, closing quote and ">"
    steps: dict[int, tuple[str, str]]  # step id -> (its link's opening tag, its "number title" label)
    quizzes: tuple[tuple[int, str, str], ...]  # the module quizzes in order: (item id, "number ", "number not taken")
    untaken: str  # the quiz scores' paragraph when none is taken ("" without quizzes)
    has_capstone: bool
    review_link: str  # the opening tag of the link to this course's review session
    audit_link: str  # " (switch to the credential track)" with its link


# Fragments change only when a sync changes the course's content hash, which every dashboard request
# reads with the enrollments (as the outline cache, decision 0004): a process keeps the latest per
# course and rebuilds it when the hash differs, so a sync on any node shows on its next request with
# no invalidation message. Bounded: a full cache simply starts over (as the lesson HTML cache).
_fragments: dict[int, CardFragments] = {}
_fragments_lock = threading.Lock()
FRAGMENT_CACHE_COURSES = 2000


def fragments_of(outline: Outline) -> CardFragments:
    cached = _fragments.get(outline.course_id)
    if cached is not None and cached.content_hash == outline.content_hash:
        return cached
    title, url = escape(outline.course_title), escape(outline.course_url)
    review_url = escape(url_for("spaced_review.index", course=outline.course_slug))
    quizzes = tuple((quiz.id, f"{escape(quiz.number)} ", f"{escape(quiz.number)} not taken")
                    for quiz in outline.module_quizzes)
    built = CardFragments(
        content_hash=outline.content_hash,
        head=(f'  <li class="card">\n    <h3 class="card-title"><a href="{url}">{title}</a></h3>\n'
              '    <div class="progress">\n      <progress max="100" value="'),
        aria=f'" aria-label="Progress in {title}">',
        steps={step.id: (f'    <p><a class="button button-primary" href="{escape(step.url)}">',
                         f"{escape(step.number)} {escape(step.title)}</a></p>\n") for step in outline.steps},
        quizzes=quizzes,
        untaken=f'<p class="meta quiz-scores">Best quiz scores: {" · ".join(q[2] for q in quizzes)}</p>'
        if quizzes else "",
        has_capstone=outline.capstone is not None,
        review_link=f'<p class="meta"><a href="{review_url}">',
        audit_link=f' (<a href="{url}#track">switch to the credential track</a>)',
    )
    with _fragments_lock:
        if len(_fragments) >= FRAGMENT_CACHE_COURSES:
            _fragments.clear()
        _fragments[outline.course_id] = built
    return built


# Text that is the same for every learner who sees it, escaped once per process: a blocker's message
# (its words and a quiz title, lms.credentials.eligibility) and the enrollment day's label. Bounded: a full
# memory starts over.
_escaped: dict[str, str] = {}
_day_labels: dict[date, str] = {}
ESCAPED_TEXTS = 10_000


def _escaped_message(message: str) -> str:
    escaped = _escaped.get(message)
    if escaped is None:
        if len(_escaped) >= ESCAPED_TEXTS:
            _escaped.clear()
        escaped = _escaped[message] = str(escape(message))
    return escaped


def _day_label(day: date) -> str:
    label = _day_labels.get(day)
    if label is None:
        if len(_day_labels) >= ESCAPED_TEXTS:
            _day_labels.clear()
        label = _day_labels[day] = str(escape(_human_date(day)))
    return label


def render_cards(cards: list[CourseCard], scores: dict[int, dict[int, int]], review_due: dict[int, int],
                 blockers: dict[int, Eligibility], earned: set[int]) -> Markup:
    """The <li> of every card, in order (the template puts them in their list)."""
    out: list[str] = []
    add = out.append
    for card in cards:
        static = fragments_of(card.outline)
        progress = card.progress
        percent, done = progress.percent, progress.done
        add(f"{static.head}{percent}{static.aria}{percent}%</progress>\n"
            f'      <span class="progress-text">{percent}% done · {done} of {progress.total} activities</span>\n'
            "    </div>\n")
        step = progress.next_step
        if step is not None:
            link, label = static.steps[step.id]
            add(f"{link}{'Continue' if done else 'Start'}: {label}")
        else:
            add('    <p class="done-badge">All activities done</p>\n')
        if static.quizzes:
            best = scores.get(card.enrollment_id)
            if best:
                add('<p class="meta quiz-scores">Best quiz scores: ')
                add(" · ".join(f"{number}{best[quiz_id]}%" if quiz_id in best else untaken
                               for quiz_id, number, untaken in static.quizzes))
                add("</p>")
            else:
                add(static.untaken)
        if card.capstone_state and static.has_capstone:
            state = CAPSTONE_STATES.get(card.capstone_state, card.capstone_state)
            add(f'<p class="meta">Capstone: {escape(state)}</p>')
        due = review_due.get(card.course_id)
        if due:
            add(f"{static.review_link}{due} to review</a></p>")
        if progress.locks:
            locked = len(progress.locks)
            add(f'<p class="meta">{locked} module{"" if locked == 1 else "s"} still locked</p>')
        if card.course_id in earned:
            add('    <p class="done-badge">Credential earned</p>\n')
        else:
            eligibility = blockers.get(card.course_id)
            if eligibility and eligibility.achievement_id:
                steps = eligibility.blockers
                if steps:
                    add('    <details class="credential-blockers">\n      <summary>To earn the credential: '
                        f'{len(steps)} step{"" if len(steps) == 1 else "s"} left</summary>\n      <ul><li>')
                    add("</li><li>".join([_escaped_message(blocker.message) for blocker in steps]))
                    add("</li></ul>\n    </details>\n")
                else:
                    add("    <p>Every requirement is met: your credential is being issued.</p>\n")
        audit = static.audit_link if card.track == "audit" else ""
        add(f'    <p class="meta">{escape(card.track.capitalize())} track{audit}'
            f" · enrolled {_day_label(card.enrolled_on)}</p>\n  </li>\n")
    return Markup("".join(out))
