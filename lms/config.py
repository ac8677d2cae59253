"""Settings, read once from ``LMS_*`` environment variables.

Every variable is listed in README.md ("Configuration"). Development defaults are safe to run on a
laptop; production refuses to start without the settings that must not have a default.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

ENVIRONMENTS = ("development", "production", "testing")
ISSUER_DID_METHODS = ("key", "web")

# argon2id cost presets. "standard" follows the RFC 9106 second recommendation (64 MiB, 3 passes);
# "fast" exists only so the test suite and generated bench users do not spend seconds hashing.
PASSWORD_HASH_PRESETS = {
    "standard": {"time_cost": 3, "memory_cost": 65536, "parallelism": 4},
    "fast": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says which variable to set and how."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    instance_dir: Path = Path("instance")
    database_url: str = ""
    secret_key: str | None = None
    courses_dir: Path = Path("courses")
    public_url: str = "http://127.0.0.1:5000"
    mail_backend: str = "log"
    mail_from: str = "Skillmark <no-reply@skillmark.local>"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    smtp_timeout: int = 20
    jobs_inline: bool = True  # run a request's jobs right after it (development); production uses cron
    ratelimit_storage_url: str = "memory://"
    proxy_hops: int = 0  # proxies in front that set X-Forwarded-For/-Proto (trusted that many deep)
    redis_url: str | None = None  # Redis for rate limits, the job queue and readiness; None: not used
    jobs_queue: str = "skillmark-jobs"  # the RQ queue's name (one per site sharing a Redis)
    password_hash: str = "standard"
    log_level: str = "INFO"
    log_format: str = "text"  # "text" or "json" (one JSON object per line; the production default)
    access_log: bool = False  # one "request" record per request (the production default)
    issuer_did: str = "key"  # "key" (did:key, verifiable offline) or "web" (did:web of public_url)
    issuer_key: str | None = None  # a PEM Ed25519 private key; otherwise keys are read from the instance
    issuer_retired_keys: tuple[str, ...] = ()  # public Multikeys of keys used before, still trusted
    issuer_name: str = "Skillmark"  # the organisation named on credentials (and on LinkedIn)
    # Learner dashboards kept rendered per process (lms/progress/dashboard_cache.py); 0 turns it off.
    dashboard_cache_size: int = 1000
    # Folders that several app nodes must share (a shared volume) when their instance folders are their
    # own: None means inside the instance folder. Read them through uploads_dir, media_dir and exports_dir.
    uploads_root: Path | None = None
    media_root: Path | None = None
    exports_root: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def uploads_dir(self) -> Path:
        """Capstone uploads, named by content hash (``LMS_UPLOADS_DIR``, else ``<instance>/uploads``)."""
        return self.uploads_root or self.instance_dir / "uploads"

    @property
    def media_dir(self) -> Path:
        """Course assets copied at sync time, named by content hash (``LMS_MEDIA_DIR``, else
        ``<instance>/media``)."""
        return self.media_root or self.instance_dir / "media"

    @property
    def exports_dir(self) -> Path:
        """Course learner exports built by background jobs (``LMS_EXPORTS_DIR``, else ``<instance>/exports``);
        the node that serves the download must see what the job runner wrote."""
        return self.exports_root or self.instance_dir / "exports"

    def with_overrides(self, **changes) -> Settings:
        return replace(self, **changes)


def load_settings(environ_overrides: dict | None = None) -> Settings:
    """Build Settings from the environment. ``environ_overrides`` wins (tests use it)."""
    overrides = dict(environ_overrides or {})
    env = overrides.pop("env", None) or _env("LMS_ENV", "development")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"LMS_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    instance_dir = Path(overrides.pop("instance_dir", None) or _env("LMS_INSTANCE_DIR", "instance")).resolve()
    database_url = overrides.pop("database_url", None) or _env(
        "LMS_DATABASE_URL", f"sqlite:///{instance_dir / 'skillmark.db'}"
    )
    uploads_root, media_root, exports_root = (Path(raw).resolve() if raw else None
                                              for raw in (_env("LMS_UPLOADS_DIR"), _env("LMS_MEDIA_DIR"),
                                                          _env("LMS_EXPORTS_DIR")))
    password_hash = _env("LMS_PASSWORD_HASH", "standard")
    if password_hash not in PASSWORD_HASH_PRESETS:
        raise ConfigError(f"LMS_PASSWORD_HASH must be one of {', '.join(PASSWORD_HASH_PRESETS)}")
    mail_backend = _env("LMS_MAIL_BACKEND", "log")
    redis_url = _env("LMS_REDIS_URL") or None
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"LMS_REDIS_URL must be a redis://, rediss:// or unix:// URL, got {redis_url!r}")
    log_format = _env("LMS_LOG_FORMAT", "json" if env == "production" else "text")
    if log_format not in ("text", "json"):
        raise ConfigError(f"LMS_LOG_FORMAT must be text or json, got {log_format!r}")
    log_level = (_env("LMS_LOG_LEVEL", "INFO") or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"LMS_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {log_level!r}")
    issuer_did = _env("LMS_ISSUER_DID", "key")
    if issuer_did not in ISSUER_DID_METHODS:
        raise ConfigError(f"LMS_ISSUER_DID must be one of {', '.join(ISSUER_DID_METHODS)}, got {issuer_did!r}")
    settings = Settings(
        env=env,
        instance_dir=instance_dir,
        database_url=database_url,
        secret_key=_env("LMS_SECRET_KEY"),
        courses_dir=Path(_env("LMS_COURSES_DIR", "courses")).resolve(),
        public_url=(_env("LMS_PUBLIC_URL", "http://127.0.0.1:5000") or "").rstrip("/"),
        mail_backend=mail_backend,
        mail_from=_env("LMS_MAIL_FROM", Settings.mail_from),
        smtp_host=_env("LMS_SMTP_HOST", "localhost"),
        smtp_port=_env_int("LMS_SMTP_PORT", 587),
        smtp_user=_env("LMS_SMTP_USER"),
        smtp_password=_env("LMS_SMTP_PASSWORD"),
        smtp_starttls=_env_bool("LMS_SMTP_STARTTLS", True),
        smtp_timeout=_env_int("LMS_SMTP_TIMEOUT", 20),
        # With Redis, workers run jobs moments after commit; inline running is for a laptop without it.
        jobs_inline=_env_bool("LMS_JOBS_INLINE", env != "production" and not redis_url),
        jobs_queue=_env("LMS_JOBS_QUEUE", "skillmark-jobs") or "skillmark-jobs",
        # With Redis, rate limits count in it unless told otherwise (shared by every app process).
        ratelimit_storage_url=_env("LMS_RATELIMIT_STORAGE_URL", redis_url or "memory://"),
        redis_url=redis_url,
        proxy_hops=_env_int("LMS_PROXY_HOPS", 0),
        dashboard_cache_size=_env_int("LMS_DASHBOARD_CACHE_SIZE", Settings.dashboard_cache_size),
        password_hash=password_hash,
        log_level=log_level,
        log_format=log_format,
        access_log=_env_bool("LMS_ACCESS_LOG", env == "production"),
        issuer_did=issuer_did,
        issuer_key=_env("LMS_ISSUER_KEY"),
        issuer_name=(_env("LMS_ISSUER_NAME", "Skillmark") or "Skillmark").strip(),
        issuer_retired_keys=tuple(k.strip() for k in (_env("LMS_ISSUER_RETIRED_KEYS", "") or "").split(",")
                                  if k.strip()),
        uploads_root=uploads_root,
        media_root=media_root,
        exports_root=exports_root,
    )
    return replace(settings, **overrides) if overrides else settings


def resolve_secret_key(settings: Settings) -> str:
    """The session-signing key.

    Production must set LMS_SECRET_KEY. Elsewhere a random key is generated once into the instance
    folder (readable only by its owner) so sessions survive restarts and several instances can run
    side by side without sharing a key.
    """
    if settings.secret_key:
        return settings.secret_key
    if settings.is_production:
        raise ConfigError(
            "LMS_SECRET_KEY is required when LMS_ENV=production. "
            "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    path = settings.instance_dir / "secret_key"
    if not path.exists():
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of this instance won the race
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
