"""What a course folder means, as frozen dataclasses: the loader's output and the sync's input."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from lms.content.capstone import Capstone
from lms.content.credential import CredentialRule, CredentialSkill
from lms.questions.model import Quiz

# The URL scheme of lessons and media. The content layer writes these into rendered HTML at sync
# time; lms/lessons and lms/catalog serve the same paths (tests check that they agree).
LESSON_PATH = "/courses/{course}/{module}/{item}"
MEDIA_PATH = "/media/{sha256}{extension}"
CAPSTONE_PATH = "/courses/{course}/capstone"
PATHWAY_PATH = "/pathways/{pathway}"

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

    @property
    def quiz_role(self) -> str | None:
        """A quiz's role (module, placement, recertification); None for other kinds."""
        return self.quiz.settings.get("role", "module") if self.quiz else None


@dataclass(frozen=True)
class ModuleSpec:
    slug: str
    position: int
    title: str
    summary: str
    items: tuple[ItemSpec, ...]
    content_hash: str
    prerequisites: tuple[str, ...] = ()  # slugs of earlier modules of the course to complete first

    @property
    def placement(self) -> ItemSpec | None:
        """The module's placement quiz (role `placement`), which tests a learner out of it."""
        return next((i for i in self.items if i.quiz_role == "placement"), None)


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
    prerequisites: tuple[str, ...] = ()  # slugs of courses to complete before enrolling in this one

    @property
    def items(self) -> list[ItemSpec]:
        return [item for module in self.modules for item in module.items]


@dataclass(frozen=True)
class PathwaySpec:
    """A pathway (courses/_pathways/<slug>.yml): a credential for holding ``required`` of ``courses``' credentials."""
    slug: str
    title: str
    summary: str
    courses: tuple[str, ...]  # course slugs, in the order the pathway lists them
    required: int  # how many of them; len(courses) for `require: all`
    name: str  # the credential's name
    description: str  # what the holder can do
    criteria: str  # Markdown narrative
    skills: tuple[CredentialSkill, ...]
    source_path: str  # e.g. "_pathways/data-practitioner.yml", for messages
    content_hash: str
    image: str | None = None  # a path under _pathways/, e.g. "assets/data-practitioner.svg"
    assets: tuple[AssetSpec, ...] = ()  # the image, when there is one (stored like a course's media)

    @property
    def requires_all(self) -> bool:
        return self.required == len(self.courses)
