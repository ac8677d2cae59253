"""The sizes `flask seed` generates, in one place (Moodle's load-test sizes, roughly).

Every count is exact: a seeded database holds exactly this many rows of each (tests check it with a
tiny custom :class:`Size` through the same code path). Staff accounts come on top of the learners:
one admin, an instructor per ``COURSES_PER_INSTRUCTOR`` courses and a grader per
``COURSES_PER_GRADER`` courses (each course has one instructor and two graders).
"""

from __future__ import annotations

from dataclasses import dataclass

COURSES_PER_INSTRUCTOR = 5
COURSES_PER_GRADER = 2


@dataclass(frozen=True)
class Size:
    learners: int
    courses: int
    enrollments: int
    quiz_attempts: int  # each with its answers (one attempt_answers row per question drawn)
    submissions: int  # capstone versions, in every state
    credentials: int  # signed, each passed capstone's; some expired, some revoked

    @property
    def instructors(self) -> int:
        return max(1, -(-self.courses // COURSES_PER_INSTRUCTOR))

    @property
    def graders(self) -> int:
        return max(2, -(-self.courses // COURSES_PER_GRADER))

    @property
    def staff(self) -> int:
        return 1 + self.instructors + self.graders  # (the one admin)

    def problems(self) -> list[str]:
        """Why these counts cannot be generated together (empty when they can)."""
        found = []
        if min(self.learners, self.courses) < 1:
            found.append("at least one learner and one course")
        if self.enrollments > self.learners * self.courses:
            found.append(f"at most {self.learners * self.courses} enrollments (each learner once per course)")
        if self.credentials > self.submissions:
            found.append("no more credentials than capstone submissions (each credential is a passed capstone)")
        if self.submissions > self.enrollments * 3:
            found.append("at most three capstone versions per enrollment")
        return found


SIZES: dict[str, Size] = {
    "S": Size(learners=100, courses=5, enrollments=300, quiz_attempts=1_500, submissions=150, credentials=30),
    "M": Size(learners=1_000, courses=20, enrollments=10_000, quiz_attempts=100_000, submissions=10_000,
              credentials=2_000),
    "L": Size(learners=10_000, courses=100, enrollments=100_000, quiz_attempts=1_000_000, submissions=100_000,
              credentials=20_000),
}
