"""Every feature's models in one import, for Alembic autogenerate and the shell."""

from lms.audit.models import AuditEvent
from lms.auth.models import CourseRole, User
from lms.catalog.models import Course, Item, MediaFile, Module
from lms.db import Base
from lms.enrollments.models import Enrollment, ItemCompletion
from lms.mail.models import OutboxMessage
from lms.quizzes.models import AttemptAnswer, QuestionVersion, QuizAttempt, QuizConfig

__all__ = ["AuditEvent", "Base", "Course", "CourseRole", "Enrollment", "Item", "ItemCompletion",
           "MediaFile", "Module", "OutboxMessage", "QuestionVersion", "QuizAttempt", "QuizConfig", "User",
           "AttemptAnswer"]
