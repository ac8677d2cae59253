"""What a course folder means, as frozen dataclasses: the loader's output and the sync's input."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from lms.content.capstone import Capstone
from lms.content.credential import CredentialRule
from lms.questions.model import Quiz

# The URL scheme of lessons and media. The content layer writes these into rendered HTML at sync
# time; lms/lessons and lms/catalog serve the same paths (tests check that they agree).
LESSON_PATH = "/courses/{course}/{module}/{item}"
MEDIA_PATH = "/media/{sha256}{extension}"
CAPSTONE_PATH = "/courses/{course}/capstone"

# Item kinds this version can present to learners.
SUPPORTED_ITEM_KINDS = frozenset({"lesson", "quiz", "capstone"})


@dataclass(frozen=True)
class AssetSpec:
    path: str  # relative to the course folder, e.g. "assets/chart.svg"
    source: Path
    sha256: str
    extension: str  # ".svg"
    media_type: str
    size: int

    @property
    def url(self) -> str:
        return MEDIA_PATH.format(sha256=self.sha256, extension=self.extension)


@dataclass(frozen=True)
class ItemSpec:
    slug: str
    position: int
    kind: str  # "lesson", "quiz", "capstone"
    title: str
    source_path: str  # relative to the courses root, for messages and the instructor's reference
    html: str = ""
    minutes: int | None = None
    objectives: tuple[str, ...] = ()
    content_hash: str = ""
    quiz: Quiz | None = None  # kind "quiz": its settings and questions
    question_html: tuple[dict[str, str], ...] = ()  # per question: its texts rendered (render_question)
    capstone: Capstone | None = None  # kind "capstone": deliverables, rubric, pass rule and checks


@dataclass(frozen=True)
class ModuleSpec:
    slug: str
    position: int
    title: str
    summary: str
    items: tuple[ItemSpec, ...]
    content_hash: str


@dataclass(frozen=True)
class CourseSpec:
    slug: str
    title: str
    summary: str
    description_html: str
    level: str
    estimated_hours: float | None
    language: str
    skills: tuple[str, ...]
    outcomes: tuple[str, ...]
    authors: tuple[str, ...]
    version: str
    reviewed_on: date | None
    review_every_months: int
    modules: tuple[ModuleSpec, ...]
    capstone: ItemSpec | None
    assets: tuple[AssetSpec, ...]
    content_hash: str
    folder: Path
    credential: CredentialRule | None = None  # what the course awards (lms/content/credential.py)

    @property
    def items(self) -> list[ItemSpec]:
        return [item for module in self.modules for item in module.items]
