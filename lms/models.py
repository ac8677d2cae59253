"""Every feature's models in one import, for Alembic autogenerate and the shell."""

from lms.audit.models import AuditEvent
from lms.auth.models import CourseRole, User
from lms.capstones.models import CapstoneVersion, Review, Submission, SubmissionFile
from lms.catalog.models import Course, Item, MediaFile, Module, Pathway, PathwayCourse
from lms.course_reviews.models import CourseReview
from lms.credentials.models import Achievement, AchievementVersion, Credential, StatusList
from lms.db import Base
from lms.enrollments.models import Enrollment, ItemCompletion
from lms.instructor.models import CourseExport, CourseStats
from lms.jobs.models import Job, JobRun
from lms.notifications.models import Notification, NotificationPreference
from lms.progress.models import ChangeStamp
from lms.quizzes.models import AttemptAnswer, QuestionVersion, QuizAttempt, QuizConfig
from lms.spaced_review.models import ReviewCard

__all__ = ["AuditEvent", "Base", "Course", "CourseRole", "Enrollment", "Item", "ItemCompletion",
           "Job", "JobRun", "MediaFile", "Module", "Notification", "NotificationPreference", "QuestionVersion",
           "QuizAttempt", "QuizConfig", "User",
           "AttemptAnswer", "CapstoneVersion", "Review", "Submission", "SubmissionFile",
           "Achievement", "AchievementVersion", "Credential", "StatusList", "Pathway", "PathwayCourse",
           "CourseReview", "CourseExport", "CourseStats", "ReviewCard", "ChangeStamp"]
