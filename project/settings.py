"""Vitrine settings, configured from the environment.

Development works with no environment at all. Production (DEBUG=false) refuses to start
without the values that must never take a default: SECRET_KEY and ALLOWED_HOSTS.
Every variable is listed in the README.
"""

import os
import sys
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        parsed = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None
    if parsed < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {parsed}")
    return parsed


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        parsed = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None
    if parsed < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {parsed}")
    return parsed


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {sorted(choices)}, not {value!r}")
    return value


TESTING = "pytest" in sys.modules or env_bool("VITRINE_TESTING", False)
DEBUG = env_bool("DEBUG", True)

_DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", _DEVELOPMENT_SECRET_KEY if DEBUG else None)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false (50+ random characters).")
if not DEBUG and SECRET_KEY == _DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY is the development key; set a real one in production.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is false, e.g. vitrine.example.com")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "django_rq",
    "catalog",
    "processing",
]

MIDDLEWARE = [
    "project.requestid.RequestIdMiddleware",
    "project.keepalive.DrainUnreadBodyMiddleware",
    "processing.middleware.ApiEnvelopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "catalog.context_processors.current_team",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 0))}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; IMMEDIATE avoids lock upgrades
    # that fail with "database is locked" under concurrent writers.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not :memory:, so that tests can run a real worker process against the test database;
    # one per test process, so two test runs on one machine never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "catalog:product_list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media files -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Media is never served from a public URL: views check team membership and stream the file
# (local storage) or redirect to a short-lived signed URL (S3). No URL pattern serves this prefix.
MEDIA_URL = "/unserved-media/"

STORAGE_BACKEND = env_choice("STORAGE_BACKEND", "local", {"local", "s3"})
if STORAGE_BACKEND == "s3":
    AWS_STORAGE_BUCKET_NAME = env_str("S3_BUCKET")
    if not AWS_STORAGE_BUCKET_NAME:
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs S3_BUCKET.")
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env_str("S3_ENDPOINT_URL"),
            "region_name": env_str("S3_REGION"),
            "access_key": env_str("S3_ACCESS_KEY_ID"),
            "secret_key": env_str("S3_SECRET_ACCESS_KEY"),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env_int("SIGNED_URL_MAX_AGE", 900, minimum=30),
            "file_overwrite": False,
            "addressing_style": env_str("S3_ADDRESSING_STYLE", "path"),
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": "/unserved-media/"},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Background jobs ------------------------------------------------------------------------
TASK_BACKEND = env_choice("TASK_BACKEND", "db", {"db", "rq", "immediate"})
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": env_int("RQ_JOB_TIMEOUT", 3600, minimum=60)}}
if TASK_BACKEND == "rq":
    if not urlparse(REDIS_URL).scheme.startswith("redis"):
        raise ImproperlyConfigured(f"REDIS_URL must be a redis:// or rediss:// URL, not {REDIS_URL!r}")
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
elif TASK_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Caches hold API rate-limit counters, so every web process must share one: a file cache on one
# machine, Redis beyond it.
CACHE_BACKEND = env_choice(
    "CACHE_BACKEND",
    "locmem" if TESTING else ("redis" if TASK_BACKEND == "rq" else "file"),
    {"file", "redis", "locmem"},
)
if CACHE_BACKEND == "redis":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
elif CACHE_BACKEND == "file":
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache" / "django"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# A running job renews its lease after every item; a job whose lease lapses had a dead worker.
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 300, minimum=5)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3, minimum=1)

# --- Uploads and images ---------------------------------------------------------------------
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 25 * 1024 * 1024, minimum=1024)
MAX_IMAGE_PIXELS = env_int("MAX_IMAGE_PIXELS", 50_000_000, minimum=10_000)
MIN_IMAGE_SIDE = env_int("MIN_IMAGE_SIDE", 100, minimum=1)
MAX_IMAGE_SIDE = env_int("MAX_IMAGE_SIDE", 12_000, minimum=100)
# Room for a base64-encoded image of API_MAX_IMAGE_BYTES plus the other fields.
API_MAX_IMAGE_BYTES = env_int("API_MAX_IMAGE_BYTES", 10 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_IMAGE_BYTES * 4 // 3 + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("MAX_FILES_PER_REQUEST", 200, minimum=1)
# A body refused before it was read is read to its end anyway (project/keepalive.py), up to this size
# and time, so the client's kept-alive connection survives the refusal.
REQUEST_DRAIN_MAX_BYTES = env_int("REQUEST_DRAIN_MAX_BYTES", 64 * 1024 * 1024, minimum=0)
REQUEST_DRAIN_SECONDS = env_float("REQUEST_DRAIN_SECONDS", 30.0, minimum=0.0)
SIGNED_URL_MAX_AGE = env_int("SIGNED_URL_MAX_AGE", 900, minimum=30)
CATALOG_PAGE_SIZE = env_int("CATALOG_PAGE_SIZE", 24, minimum=1)

# HTTP API: queries per second per team (a team's own api_rate_limit overrides it) and the
# window in which a repeated X-Ca-Nonce is refused.
API_RATE_LIMIT_QPS = env_int("API_RATE_LIMIT_QPS", 5, minimum=1)
# Synchronous API calls (cut-out, erase, scenes) that run a model at once in one web process, and how
# long a call waits for its turn before it is answered with the rate-limit code.
SYNC_ENGINE_CONCURRENCY = env_int("SYNC_ENGINE_CONCURRENCY", 1, minimum=1)
SYNC_ENGINE_WAIT_SECONDS = env_float("SYNC_ENGINE_WAIT_SECONDS", 60.0, minimum=0.0)
API_NONCE_TTL_SECONDS = env_int("API_NONCE_TTL_SECONDS", 900, minimum=60)
# Signed requests (the hosted services' client libraries): how far a request's timestamp may be from the
# server's clock, either way. Its nonce (or sign) is remembered for API_NONCE_TTL_SECONDS, which must
# cover the whole window, or a request could be replayed once its nonce was forgotten.
API_SIGNATURE_MAX_SKEW_SECONDS = env_int("API_SIGNATURE_MAX_SKEW_SECONDS", 300, minimum=1)
if API_NONCE_TTL_SECONDS < 2 * API_SIGNATURE_MAX_SKEW_SECONDS:
    raise ImproperlyConfigured(
        "API_NONCE_TTL_SECONDS must be at least twice API_SIGNATURE_MAX_SKEW_SECONDS, "
        "or a signed request could be replayed inside its timestamp window."
    )
# Fetching image URLs: only public addresses, unless a test lists a loopback host here.
IMAGE_FETCH_ALLOWED_HOSTS = env_list("IMAGE_FETCH_ALLOWED_HOSTS", [])
IMAGE_FETCH_TIMEOUT_SECONDS = env_float("IMAGE_FETCH_TIMEOUT_SECONDS", 10.0, minimum=0.1)
IMAGE_FETCH_MAX_REDIRECTS = 3
# Results below this score are flagged for a human look.
CUTOUT_REVIEW_SCORE = env_float("CUTOUT_REVIEW_SCORE", 0.6)
# Search by picture: vectors (two per image) above which a team's index turns approximate (HNSW) and is
# also saved under SEARCH_INDEX_DIR; how many changes a process applies before re-saving it; how many
# teams' indexes one process keeps in memory; the duplicates page's similarity bar and scope.
SEARCH_APPROXIMATE_THRESHOLD = env_int("SEARCH_APPROXIMATE_THRESHOLD", 50_000, minimum=0)
SEARCH_INDEX_DIR = Path(env_str("SEARCH_INDEX_DIR", str(VAR_DIR / "search-index")))
SEARCH_INDEX_SAVE_EVERY = env_int("SEARCH_INDEX_SAVE_EVERY", 500, minimum=1)
SEARCH_ENGINE_CACHE_TEAMS = env_int("SEARCH_ENGINE_CACHE_TEAMS", 32, minimum=1)
SEARCH_DUPLICATE_SIMILARITY = env_float("SEARCH_DUPLICATE_SIMILARITY", 0.96)
SEARCH_DUPLICATES_MAX_IMAGES = env_int("SEARCH_DUPLICATES_MAX_IMAGES", 20_000, minimum=2)

VITRINE_MODEL_DIR = Path(env_str("VITRINE_MODEL_DIR", str(VAR_DIR / "models")))
os.environ.setdefault("VITRINE_MODEL_DIR", str(VITRINE_MODEL_DIR))

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Reverse proxies in front of Django that append the client's address to X-Forwarded-For. Behind one,
# REMOTE_ADDR is the proxy, so login throttling per address would lock everybody out at once; with
# hops set, the address that many proxies from the right is the client's (entries further left can be
# forged by the client and are never used).
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 0)
if SECURE_HSTS_SECONDS == 0 and not DEBUG:
    # check --deploy flags a missing HSTS header; running without it must be a deliberate choice.
    SILENCED_SYSTEM_CHECKS = ["security.W004"]

# Content Security Policy: scripts only from our own static files (no inline handlers anywhere);
# inline style attributes are allowed because templates position overlays with them. Images may
# come from signed S3 URLs and from canvas data/blob URLs in the editors.
_S3_ORIGIN = ""
if STORAGE_BACKEND == "s3" and env_str("S3_ENDPOINT_URL"):
    _endpoint = urlparse(env_str("S3_ENDPOINT_URL"))
    _S3_ORIGIN = f"{_endpoint.scheme}://{_endpoint.netloc}"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *([_S3_ORIGIN] if _S3_ORIGIN else [])],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "project.requestid.RequestIdLogFilter"},
        "redact_signatures": {"()": "project.logredact.SignatureRedactingFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        # One JSON object per line for log shippers; LOG_FORMAT=json selects it.
        "json": {
            "format": (
                '{"time": "%(asctime)s", "level": "%(levelname)s", "logger": "%(name)s", '
                '"request_id": "%(request_id)s", "message": %(message_json)s}'
            ),
            "()": "project.logjson.JsonMessageFormatter",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env_choice("LOG_FORMAT", "plain", {"plain", "json"}),
            "filters": ["request_id", "redact_signatures"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        # The development server's request lines go through the same handler, so signatures are redacted.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
