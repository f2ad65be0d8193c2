"""Settings of the SLA Portal, driven by environment variables only.

Each variable is documented in the README. A bad value raises ImproperlyConfigured
naming the variable, so a misconfigured deployment fails at start-up, not later.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from portal.env import email_settings, env_bool, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")) or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)
# Where `make run` serves the portal (host:port).
BIND = env_str("BIND", "127.0.0.1:8000") or "127.0.0.1:8000"

_secret = env_str("SECRET_KEY")
if _secret is None:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY: must be set when DEBUG is false (any long random string)"
        )
    _secret = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
SECRET_KEY = _secret

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Links in emails follow the address served (BIND) unless SITE_URL says otherwise.
SITE_URL = (env_str("SITE_URL", f"http://{BIND}") or "").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "agreements",
    "metrics",
    "credits",
    "notifications",
    "integrations",
    "status",
    "contracts",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.BodySizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL says otherwise. Connections are kept
# open between requests: opening a PostgreSQL connection costs milliseconds per request
# and would cap a one-query page at a fraction of what the server can do.
_database_url = env_url("DATABASE_URL", {"sqlite", "postgres", "postgresql", "pgsql"})
CONN_MAX_AGE = env_int("CONN_MAX_AGE", 600, minimum=0)
if _database_url:
    try:
        _db = dj_database_url.parse(
            _database_url, conn_max_age=CONN_MAX_AGE, conn_health_checks=True
        )
    except ValueError as error:
        raise ImproperlyConfigured(f"DATABASE_URL: {error}") from None
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(VAR_DIR / "portal.sqlite3"),
        "CONN_MAX_AGE": CONN_MAX_AGE,
        "CONN_HEALTH_CHECKS": True,
    }
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a worker writes; the timeout rides out short locks.
    # Transactions take the write lock when they begin, so two processes never deadlock
    # upgrading a read to a write ("database is locked" without waiting).
    _db.setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    _db["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: broker and shared cache when REDIS_URL is set; otherwise an embedded broker on
# the filesystem and a per-process cache, so a bare machine runs everything.
REDIS_URL = env_url("REDIS_URL", {"redis", "rediss", "unix"})
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "portal.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_PREFIX", "sla") or "sla",
            # Redis down must not hold a request: a refused or unanswered connection
            # fails within a second and the cache is then skipped for a few seconds.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_BROKER_URL = REDIS_URL or "filesystem://"
_broker_dir = VAR_DIR / "broker"
if not REDIS_URL:
    # Any process may enqueue (web, commands, benchmarks), not only the worker. kombu
    # creates the control folder without its parents, so every folder is made here.
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
# A worker killed mid-task (SIGKILL, out of memory) never acknowledges it: with acks_late
# the Redis transport hands the task to another worker once the visibility timeout has
# passed. The timeout must exceed the longest task (the hard time limit below), or a task
# still running would be handed out twice.
TASK_TIME_LIMIT_SECONDS = env_int("TASK_TIME_LIMIT_SECONDS", 300, minimum=30)
BROKER_VISIBILITY_TIMEOUT_SECONDS = env_int("BROKER_VISIBILITY_TIMEOUT_SECONDS", 900, minimum=5)
if BROKER_VISIBILITY_TIMEOUT_SECONDS <= TASK_TIME_LIMIT_SECONDS:
    raise ImproperlyConfigured(
        "BROKER_VISIBILITY_TIMEOUT_SECONDS: must be longer than TASK_TIME_LIMIT_SECONDS "
        f"({TASK_TIME_LIMIT_SECONDS}), got {BROKER_VISIBILITY_TIMEOUT_SECONDS}"
    )
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "visibility_timeout": BROKER_VISIBILITY_TIMEOUT_SECONDS,
        # Workers look for such abandoned tasks every 10 s (kombu's default, every 100 s,
        # would add more than a minute and a half to the timeout).
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
        # Redis down: enqueueing fails fast and the work is kept in the database instead
        # (portal.outbox).
        "socket_connect_timeout": 2,
    }
    if REDIS_URL
    else {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # The exchange tables; kombu's default is control/ in the working directory.
        "control_folder": str(_broker_dir / "control"),
    }
)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
# A pool process killed under a task puts the task back in the queue instead of dropping it.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# The soft limit raises SoftTimeLimitExceeded in the task (its transaction rolls back and
# autoretry tries again later); the hard limit kills the process 30 s after.
CELERY_TASK_SOFT_TIME_LIMIT = TASK_TIME_LIMIT_SECONDS - 30
CELERY_TASK_TIME_LIMIT = TASK_TIME_LIMIT_SECONDS
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Publishing gives up after one retry, so a request never waits long on a broker that is
# down; the task is then kept in the database and sent when the broker is back.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
RECOMPUTE_INTERVAL_SECONDS = env_int("RECOMPUTE_INTERVAL_SECONDS", 300, minimum=10)
# Agreements evaluated together by one recompute task (1 = one task per agreement).
RECOMPUTE_BATCH_SIZE = env_int("RECOMPUTE_BATCH_SIZE", 25, minimum=1)
# New measurements schedule a recompute this many seconds later, once per burst.
RECOMPUTE_DEBOUNCE_SECONDS = env_int("RECOMPUTE_DEBOUNCE_SECONDS", 15, minimum=0)
RAW_RETENTION_DAYS = env_int("RAW_RETENTION_DAYS", 400, minimum=62)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sessions are read from the cache (Redis in production), written through to the database.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Brute-force protection: this many failed sign-ins for one username from one address
# lock that pair out for LOGIN_LOCK_MINUTES (counted from the last failure).
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_LOCK_MINUTES = env_int("LOGIN_LOCK_MINUTES", 15, minimum=1)
# Password reset requests: at most this many emails per account, and this many requests
# per address, in PASSWORD_RESET_WINDOW_MINUTES. Past either, nothing is sent.
PASSWORD_RESET_PER_ACCOUNT = env_int("PASSWORD_RESET_PER_ACCOUNT", 3, minimum=1)
PASSWORD_RESET_PER_ADDRESS = env_int("PASSWORD_RESET_PER_ADDRESS", 10, minimum=1)
PASSWORD_RESET_WINDOW_MINUTES = env_int("PASSWORD_RESET_WINDOW_MINUTES", 60, minimum=1)

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production serves hashed, compressed files collected by `collectstatic`; development and
# tests serve straight from the source folders.
STATIC_FROM_SOURCE = env_bool("STATIC_FROM_SOURCE", DEBUG)
WHITENOISE_USE_FINDERS = STATIC_FROM_SOURCE
WHITENOISE_AUTOREFRESH = STATIC_FROM_SOURCE
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if STATIC_FROM_SOURCE
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"

# Email: one URL (see portal.env.email_settings); console output by default.
globals().update(email_settings("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SLA Portal <sla@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security: strict by default, relaxed only when DEBUG is on or a variable says so.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
)
# Reverse proxies in front of the app that append the client's address to
# X-Forwarded-For: with N of them, the N-th address from the right is the client's, which
# the rate limits and the sign-in lockout count. 0: REMOTE_ADDR is the client.
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 0, minimum=0)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["agreements.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["agreements.parsers.SafeJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "agreements.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": ["agreements.auth.ApiKeyRateThrottle"],
}
# Webhooks never go to loopback or private addresses unless this allows it (tests do).
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 5, minimum=1)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6, minimum=1)
WEBHOOK_DISABLE_AFTER = env_int("WEBHOOK_DISABLE_AFTER", 5, minimum=1)
# Notification emails are gathered into one digest per recipient per window.
NOTIFICATION_DIGEST_SECONDS = env_int("NOTIFICATION_DIGEST_SECONDS", 60, minimum=0)

# Requests per minute per API key, for every API endpoint (429 with Retry-After beyond).
API_RATE_PER_MINUTE = env_int("API_RATE_PER_MINUTE", 1200, minimum=1)
# The benchmark's ceiling, a view that does nothing, is served only when this is on.
PORTAL_BENCH_TRIVIAL = env_bool("PORTAL_BENCH_TRIVIAL", False)
# Ingestion batches are at most 10 MB; larger bodies get a 413 before being read.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
SPECTACULAR_SETTINGS = {
    "TITLE": "SLA Portal API",
    "DESCRIPTION": "Push measurements, read compliance and credits. Authenticate with "
    "`Authorization: Bearer <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "agreements.openapi.add_error_responses",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # The embedded filesystem broker has no host; kombu warns about it on every connection.
    "loggers": {} if REDIS_URL else {"kombu.connection": {"level": "ERROR"}},
}
