"""Generated course folders: real courses in the documented format (docs/course-format.md).

Each course has 3 to 6 modules of 2 to 4 lessons (Markdown with a list, a code block and a table),
a module quiz of five questions (single choice, multiple response, true/false, numerical, short
answer; no essays, so no attempt waits for a grader), in some modules a practice quiz too, and a
capstone with a three-criterion rubric. Every third course's credential is valid for 12 months (so
some generated credentials have expired). The folders are written, checked and synced by the
product's own loader and sync (lms.content, lms.catalog.services), as `flask courses sync` would.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SUBJECTS = [
    ("Python", "python"), ("SQL", "sql"), ("Spreadsheets", "spreadsheets"), ("Data Visualisation", "dataviz"),
    ("Git", "git"), ("The Linux Shell", "shell"), ("Statistics", "statistics"), ("Project Management", "pm"),
    ("UX Research", "ux"), ("Web Accessibility", "a11y"), ("Cloud Basics", "cloud"), ("Networking", "networking"),
    ("Security Hygiene", "security"), ("Technical Writing", "writing"), ("Public Speaking", "speaking"),
    ("Negotiation", "negotiation"), ("Marketing Analytics", "marketing"), ("Bookkeeping", "bookkeeping"),
    ("Machine Learning", "ml"), ("Containers", "containers"),
]
ANGLES = [("Foundations", "foundations", "beginner"), ("in Practice", "practice", "intermediate"),
          ("for Teams", "teams", "intermediate"), ("Essentials", "essentials", "beginner"),
          ("Deep Dive", "deep-dive", "advanced")]
TOPICS = ["planning", "first steps", "common mistakes", "measuring results", "working with others", "automation",
          "checking your work", "reading the output", "small experiments", "naming things", "trade-offs",
          "documentation", "reviewing", "shortcuts", "edge cases", "a worked example", "choosing tools",
          "troubleshooting", "habits that stick", "the big picture"]
MAX_REVISIONS = 2  # so a learner's capstone has at most three versions
CAPSTONE_MIN_POINTS = 4  # of 6


def course_plan(number: int) -> tuple[str, str, str]:
    """(slug, title, level) of generated course ``number`` (0-based): unique for 100 courses, then numbered."""
    subject, subject_slug = SUBJECTS[number % len(SUBJECTS)]
    angle, angle_slug, level = ANGLES[(number // len(SUBJECTS)) % len(ANGLES)]
    cycle = number // (len(SUBJECTS) * len(ANGLES))
    suffix = f"-{cycle + 1}" if cycle else ""
    title = f"{subject} {angle}" + (f" {cycle + 1}" if cycle else "")
    return f"seed-{subject_slug}-{angle_slug}{suffix}", title, level


def _q(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid YAML scalar: a safe way to quote any text


def _lesson(rng: random.Random, subject: str, title: str, module: int, lesson: int) -> str:
    steps = rng.sample(["Write down what you expect before you start.", "Try it on a small example first.",
                        "Compare the result with what you expected.", "Keep a note of what surprised you.",
                        "Ask a colleague to repeat it from your notes.", "Time how long it takes.",
                        "Undo it and do it again from memory."], 3)
    minutes = rng.choice([5, 8, 10, 12, 15])
    rows = "\n".join(f"| {name} | {rng.randint(2, 40)} | {rng.choice(['yes', 'no', 'sometimes'])} |"
                     for name in rng.sample(["Alex", "Blessing", "Chen", "Dana", "Emeka", "Farah", "Gwen"], 3))
    return (f"---\ntitle: {_q(title)}\nminutes: {minutes}\nobjectives:\n  - Explain {title.lower()} in "
            f"{subject}\n  - Apply it to a small example\n---\n"
            f"This lesson is about **{title.lower()}** in {subject}. It builds on the previous lesson and "
            f"prepares the module's quiz.\n\n## Why it matters\n\nMost people meet {title.lower()} in their "
            f"first week. Done well, it saves time later; done badly, it is the source of most questions a "
            f"team asks. Lesson {module}.{lesson} walks through one example.\n\n## Steps\n\n"
            + "".join(f"{i}. {s}\n" for i, s in enumerate(steps, 1))
            + f"\n## An example\n\n```text\nstep {module}.{lesson}: {title.lower()}\nresult: ok\n```\n\n"
            f"| who | minutes | repeated |\n|---|---|---|\n{rows}\n\n"
            f"> Tip: the quiz at the end of the module asks about this lesson.\n")


def _quiz(rng: random.Random, subject: str, title: str, lessons: list[str], pass_score: int) -> str:
    a, b = rng.randint(2, 9), rng.randint(2, 9)
    lesson = lambda: rng.choice(lessons)  # noqa: E731
    return (f"---\ntype: quiz\ntitle: {_q(title)}\npass_score: {pass_score}\nattempts: 0\nfeedback: after_submit\n"
            f"---\nFive questions on this module of {subject}.\n\n"
            f"## Which of these is the first step when {rng.choice(TOPICS)} comes up? "
            f"{{key=first-step lesson={lesson()}}}\n"
            "- [x] Write down what you expect\n  > Right: a written expectation is what you check against.\n"
            "- [ ] Ask for a bigger budget\n  > Not yet: first know what you expect.\n"
            "- [ ] Start again from scratch\n"
            "> An expectation written down first makes every later check quick.\n\n"
            f"## Which habits help with {subject}? {{key=habits points=2 lesson={lesson()}}}\n"
            "- [x] Trying a small example first\n- [x] Keeping notes of surprises\n"
            "- [ ] Skipping the check at the end\n  > The check is what catches mistakes.\n"
            "- [ ] Changing several things at once\n"
            "> Small steps and notes make problems easy to find.\n\n"
            "## A second person should be able to repeat your work from your notes. "
            f"{{key=repeatable lesson={lesson()}}}\n"
            "= true\n  > Yes: that is what good notes are for.\n  > They should; that is what notes are for.\n\n"
            f"## What is {a} times {b}? Type the number only. {{key=product lesson={lesson()}}}\n"
            f"= {a * b}\n= {{50%}} {a * b - 1}..{a * b + 1}\n  > Close.\n\n"
            f"## Which word names a note of what you expected before starting? {{key=word lesson={lesson()}}}\n"
            "= expectation\n= prediction\n= *\n  > It is written before you start: an expectation.\n")


def _capstone(subject: str) -> str:
    return (f"---\ntitle: {_q(f'Capstone: {subject} in your own work')}\nmax_revisions: {MAX_REVISIONS}\n"
            "deliverables:\n  text: required\n  links:\n    max: 1\n    label: Link to your work\n"
            "rubric:\n"
            "  - key: plan\n    title: Plan\n    required: true\n    min_points: 1\n    levels:\n"
            "      - {points: 0, title: Missing}\n      - {points: 1, title: Outlined}\n"
            "      - {points: 2, title: Clear}\n"
            "  - key: execution\n    title: Execution\n    levels:\n"
            "      - {points: 0, title: Missing}\n      - {points: 1, title: Partial}\n"
            "      - {points: 2, title: Complete}\n"
            "  - key: reflection\n    title: Reflection\n    levels:\n"
            "      - {points: 0, title: Missing}\n      - {points: 1, title: Brief}\n"
            "      - {points: 2, title: Thoughtful}\n"
            f"pass:\n  min_points: {CAPSTONE_MIN_POINTS}\n---\n"
            f"Apply what the course taught to a real piece of your own work with {subject}. Write what you "
            "planned, what you did and what you would do differently, and link to the result.\n")


def write_courses(root: Path, count: int, seed: int) -> list[str]:
    """Write ``count`` generated course folders into ``root``; returns their slugs in order."""
    root.mkdir(parents=True, exist_ok=True)
    slugs = []
    for number in range(count):
        rng = random.Random(f"{seed}:course:{number}")
        slug, title, level = course_plan(number)
        subject = title
        folder = root / slug
        folder.mkdir()
        modules = rng.randint(3, 6)
        credential = ("credential:\n  valid_for_months: 12\n" if number % 3 == 2 else "")
        (folder / "course.yml").write_text(
            f"title: {_q(title)}\nslug: {slug}\n"
            f"summary: {_q(f'A generated {level} course on {subject}: {modules} modules, quizzes and a capstone.')}\n"
            f"description: |\n  Generated by `flask seed` for load tests and demonstrations. It has the shape of a\n"
            f"  real course: lessons, module quizzes, a capstone reviewed against a rubric, a credential.\n"
            f"level: {level}\nestimated_hours: {modules * 1.5:g}\nskills: [{_q(subject)}, planning, reviewing]\n"
            f"outcomes:\n  - Use {subject} on a small real task\n  - Check and explain the result\n"
            f"reviewed_on: 2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}\nreview_every: 12\n"
            f"authors: [Skillmark Seed]\n{credential}", encoding="utf-8")
        topics = rng.sample(TOPICS, modules)
        for m in range(1, modules + 1):
            module_dir = folder / f"{m:02d}-{topics[m - 1].replace(' ', '-')}"
            module_dir.mkdir()
            (module_dir / "module.yml").write_text(
                f"title: {_q(topics[m - 1].capitalize())}\n"
                f"summary: {_q(f'{topics[m - 1].capitalize()} in {subject}.')}\n",
                encoding="utf-8")
            lessons = rng.randint(2, 4)
            practice = rng.random() < 0.5
            position, lesson_slugs = 1, []
            for n in range(1, lessons + 1):
                lesson_title = f"{topics[m - 1].capitalize()}, part {n}"
                lesson_slug = f"part-{n}"
                (module_dir / f"{position:02d}-{lesson_slug}.md").write_text(
                    _lesson(rng, subject, lesson_title, m, n), encoding="utf-8")
                lesson_slugs.append(lesson_slug)
                position += 1
                if practice and n == 1:
                    (module_dir / f"{position:02d}-practice.md").write_text(
                        _quiz(rng, subject, f"Practice: {topics[m - 1]}", lesson_slugs[:], 50), encoding="utf-8")
                    position += 1
            (module_dir / f"{position:02d}-check.md").write_text(
                _quiz(rng, subject, f"Check: {topics[m - 1]}", lesson_slugs, 70), encoding="utf-8")
        (folder / "capstone.md").write_text(_capstone(subject), encoding="utf-8")
        slugs.append(slug)
    return slugs
