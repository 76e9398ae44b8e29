"""SalesLadder settings: one file, every deployment knob is an environment variable.

Embedded defaults (SQLite, eager Celery, local-memory cache) make ``make run`` work on a
bare machine; production sets DATABASE_URL, CELERY_BROKER_URL, CACHE_URL and a secret key.
Every variable is listed in README.md.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Secrets have no default outside debug: a production start without one fails loudly.
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    default="django-insecure-dev-only-key-do-not-use-in-production" if DEBUG else environ.Env.NOTSET,
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "simple_history",
    "salesladder.org",
    "pipeline",
    "targets",
    "reviews",
    "salesladder.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "salesladder.urls"
WSGI_APPLICATION = "salesladder.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "salesladder.org.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the dev server and eager tasks share the file without "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The covering indexes' INCLUDE columns are a PostgreSQL speed-up; SQLite builds the same indexes
    # without them (same results), so its warning about it would only be noise on every command.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
elif "postgresql" in DATABASES["default"]["ENGINE"]:
    # JIT compiles plans whose estimated cost is high (dashboard aggregates over the transition history)
    # and costs far more than it saves on these short queries: 0.5-1 s of compilation for a 20 ms query.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=" + env.str("DATABASE_PG_JIT", default="off"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://salesladder")}

AUTH_USER_MODEL = "org.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Internationalisation. TIME_ZONE is the organisation's time zone: periods, "today" and the
# nightly run at 01:00 are all read in it.
LANGUAGE_CODE = env.str("DJANGO_LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("SALESLADDER_TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)

# Security: strict unless DEBUG. Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER.
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Behind a TLS-terminating proxy: trust its X-Forwarded-Proto (HTTPS) and the last X-Forwarded-For
# address (API throttles, log-in throttling). Only when nothing but the proxy reaches the app.
BEHIND_PROXY = env.bool("DJANGO_BEHIND_PROXY", default=False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Health checks from the load balancer arrive over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Celery: no broker configured means tasks run in-process, so `make run` needs no Redis.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or "cache+memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Minutes between refreshes of today's snapshots (0: none; at most 59, a divisor of 60 keeps them even).
SALESLADDER_SNAPSHOT_REFRESH_MINUTES = env.int("SALESLADDER_SNAPSHOT_REFRESH_MINUTES", default=15)
if not 0 <= SALESLADDER_SNAPSHOT_REFRESH_MINUTES <= 59:
    raise ImproperlyConfigured("SALESLADDER_SNAPSHOT_REFRESH_MINUTES must be 0 (no refresh) to 59.")
CELERY_BEAT_SCHEDULE: dict = {
    # 01:00 in the organisation's time zone (CELERY_TIMEZONE): snapshots as of the day that just ended,
    # stale flags, period-end hooks. Idempotent, so a double fire or a retry changes nothing.
    "targets-nightly": {"task": "targets.tasks.nightly_run_task", "schedule": crontab(hour=1, minute=0)},
    # 01:30: each rung's observed win rate against its configured probability (a pass over the whole
    # history, kept out of the incremental snapshot run), stored with the night's run and logged.
    "targets-stage-win-rates": {
        "task": "targets.tasks.stage_win_rates_task",
        "schedule": crontab(hour=1, minute=30),
    },
    # Today's snapshots so far (targets.services.snapshots_refresh), so a live funnel read carries only the
    # changes of the last few minutes on top of a snapshot, not the whole day's (see below).
    **(
        {
            "targets-refresh": {
                "task": "targets.tasks.snapshots_refresh_task",
                # (from minute 7: not at 01:00 with the nightly run, which the refreshes of the day wait for)
                "schedule": crontab(
                    minute=f"{7 % SALESLADDER_SNAPSHOT_REFRESH_MINUTES}-59/{SALESLADDER_SNAPSHOT_REFRESH_MINUTES}"
                ),
            }
        }
        if SALESLADDER_SNAPSHOT_REFRESH_MINUTES
        else {}
    ),
    # Idempotency-Key answers are kept 24 h; forget older ones hourly.
    "pipeline-prune-idempotency-keys": {
        "task": "pipeline.tasks.prune_idempotency_keys",
        "schedule": crontab(minute=17),
    },
    # Webhook deliveries whose retry task was lost (Redis data gone) are queued again from the database.
    "pipeline-requeue-orphaned-webhooks": {
        "task": "pipeline.tasks.requeue_orphaned_webhooks",
        "schedule": crontab(minute="*/10"),
    },
}

REST_FRAMEWORK = {
    # Bearer first: an unauthenticated request is answered 401 with "WWW-Authenticate: Bearer".
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "salesladder.org.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "salesladder.org.permissions.HasTokenScope",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["salesladder.api.renderers.FastJSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": [
        "salesladder.org.throttling.TokenRateThrottle",
        "salesladder.org.throttling.UserRateThrottle",
        "salesladder.org.throttling.AnonRateThrottle",
    ],
    # Counters live in the default cache (CACHE_URL): use Redis in production so workers share them.
    "DEFAULT_THROTTLE_RATES": {
        "token": env.str("API_THROTTLE_TOKEN", default="6000/min"),
        "user": env.str("API_THROTTLE_USER", default="6000/min"),
        "anon": env.str("API_THROTTLE_ANON", default="300/min"),
    },
    "DEFAULT_FILTER_BACKENDS": [
        "salesladder.api.filters.FilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "salesladder.api.pagination.StandardPagination",
    "EXCEPTION_HANDLER": "salesladder.api.exceptions.exception_handler",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "salesladder.api.schema.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # the anonymous throttle keys on the client address: behind the proxy, the one it appended
    "NUM_PROXIES": 1 if BEHIND_PROXY else None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "SalesLadder API",
    "DESCRIPTION": "Staged sales pipelines: deals, lead intake, targets, funnels and reviews.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One named enum per choice set, however many fields use it.
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "pipeline.models.Stage",
        "DealStatusEnum": "pipeline.models.DealStatus",
        "ActivityKindEnum": "pipeline.models.ActivityKind",
        "TransitionKindEnum": "pipeline.models.TransitionKind",
        "ChannelEnum": "pipeline.models.Channel",
        "RoleEnum": "salesladder.org.models.Role",
        "IntakeStatusEnum": "pipeline.models.IntakeStatus",
        "WebhookEventEnum": "pipeline.models.WebhookEvent",
        "WebhookDeliveryStatusEnum": "pipeline.models.WebhookDeliveryStatus",
        "ReviewStatusEnum": "reviews.models.ReviewStatus",
    },
}

# Log-in throttling (django-ratelimit, counted in CACHES["default"]): attempts per client address and
# per user name; over either limit the form answers 429 without checking the password.
LOGIN_THROTTLE_IP = env.str("LOGIN_THROTTLE_IP", default="20/m")
LOGIN_THROTTLE_USER = env.str("LOGIN_THROTTLE_USER", default="5/m")
PASSWORD_RESET_THROTTLE = env.str("PASSWORD_RESET_THROTTLE", default="3/h")  # reset mails per e-mail address
if BEHIND_PROXY:
    RATELIMIT_IP_META_KEY = "salesladder.org.login_throttle.forwarded_client_ip"

# E-mail (password resets). EMAIL_URL as django-environ reads it, e.g. smtp+tls://user:pass@host:587;
# the default prints mails to the console, so `make run` needs no mail server.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="SalesLadder <noreply@localhost>")
PASSWORD_RESET_TIMEOUT = env.int("DJANGO_PASSWORD_RESET_TIMEOUT", default=3 * 24 * 3600)

# Domain defaults.
SALESLADDER_DEFAULT_CURRENCY = env.str("SALESLADDER_DEFAULT_CURRENCY", default="CNY")
SALESLADDER_INTAKE_MAX_BODY_BYTES = env.int("SALESLADDER_INTAKE_MAX_BODY_BYTES", default=5 * 1024 * 1024)
SALESLADDER_WEBHOOK_MAX_ATTEMPTS = env.int("SALESLADDER_WEBHOOK_MAX_ATTEMPTS", default=8)
SALESLADDER_WEBHOOK_TIMEOUT = env.int("SALESLADDER_WEBHOOK_TIMEOUT", default=10)
# Webhooks to loopback/private/link-local addresses are refused (no fetching the server's own network)
# unless this is on (a receiver on the same private network, local development).
SALESLADDER_WEBHOOK_ALLOW_PRIVATE = env.bool("SALESLADDER_WEBHOOK_ALLOW_PRIVATE", default=False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
