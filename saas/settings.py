"""Rassylka settings.

Everything that differs between machines comes from the environment (see
`.env.sample`). With DEBUG on, every variable has a development default so
`make run` works on a fresh machine; with DEBUG off, the required ones must be
set and a missing one stops start-up with a message naming it.
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

from saas.links import parse_site_url, site_url_from_parts

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)


def required(name, dev_default, cast=str):
    """A variable that production must set; development falls back to a default."""
    if DEBUG:
        return env.get_value(name, cast=cast, default=dev_default)
    return env.get_value(name, cast=cast)


SECRET_KEY = required("SECRET_KEY", "dev-only-insecure-secret-key-change-me-0123456789abcdef")
BASE_DOMAIN = required("BASE_DOMAIN", "localhost")
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}"] + env.list("EXTRA_ALLOWED_HOSTS", default=[])

# --- apps -----------------------------------------------------------------

SHARED_APPS = [
    # our `migrate` override must be found before django_tenants' own
    "tenants",
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.admin",
    "allauth",
    "allauth.account",
    "guardian",
    "huey.contrib.djhuey",
    "shared_apps.accounts",
    "shared_apps.landing",
    "shared_apps.blog",
    "shared_apps.console",
    "shared_apps.deliverability",
    # The REST API (tenant_apps/api): DRF, its OpenAPI schema, Swagger UI and Redoc from our own static files.
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

TENANT_APPS = [
    "tenant_apps.audience",
    "tenant_apps.campaigns",
    "tenant_apps.delivery",
    "tenant_apps.engagement",
    "tenant_apps.senders",
    "tenant_apps.feedback",
    "tenant_apps.webhooks",
    "tenant_apps.api",
]

INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Workspace"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New workspaces are cloned from this migrated template schema; `migrate`
# keeps it migrated (tenants/management/commands/migrate.py).
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# Ready, unassigned workspace schemas kept by a huey task; sign-up renames one (0 = always clone).
WORKSPACE_POOL_SIZE = env.int("WORKSPACE_POOL_SIZE", default=10)
# Seconds the workspace of a host stays cached (forgotten at once when a workspace or domain changes; 0 = off).
HOST_LOOKUP_CACHE_SECONDS = env.int("HOST_LOOKUP_CACHE_SECONDS", default=300)
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
# Public pages (home, blog) for anonymous visitors come from the cache (shared_apps/landing/pagecache.py):
# at most this many seconds old (0 = off), and at most PUBLIC_PAGE_FIGURES_SECONDS behind a changed figure.
PUBLIC_PAGE_CACHE_SECONDS = env.int("PUBLIC_PAGE_CACHE_SECONDS", default=60)
PUBLIC_PAGE_FIGURES_SECONDS = env.int("PUBLIC_PAGE_FIGURES_SECONDS", default=10)
DEFAULT_NOT_FOUND_TENANT_VIEW = "saas.views.unknown_workspace"
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

MIDDLEWARE = [
    # /healthz answers before host routing and the HTTPS redirect (any Host, plain HTTP).
    "saas.health.HealthCheckMiddleware",
    # Open pixel and click redirect: answered before the tenant lookup, with no SQL (issue 12).
    "tenant_apps.engagement.endpoints.TrackingMiddleware",
    # Outside host routing, so the unknown-workspace page gets the policy too.
    "saas.csp.ContentSecurityPolicyMiddleware",
    # Public pages for anonymous visitors, from the cache before host routing (issue 16, item 6).
    "shared_apps.landing.pagecache.PublicPageCacheMiddleware",
    "tenants.middleware.WorkspaceMainMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Dates in the workspace's zone on its host, in the user's zone on the public site.
    "tenants.middleware.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "tenants.middleware.WorkspaceAccessMiddleware",
]

ROOT_URLCONF = "saas.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "saas.urls_public"
WSGI_APPLICATION = "saas.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "saas.context_processors.site",
            ],
            "libraries": {"dates": "saas.dates", "choices": "saas.choices"},
        },
    },
]

# --- database -------------------------------------------------------------

DATABASES = {
    "default": env.db_url_config(required("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rassylka")),
}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
# Persistent connections in production (through PgBouncer, deploy/pgbouncer.ini): a request or
# task reuses its process's connection, which Django pings before the first query of each request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0 if DEBUG else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and queue --------------------------------------------------------
# The cache and huey must never share a Redis database: cache.clear() is FLUSHDB.

REDIS_URL = env.str("REDIS_URL", default="")
HUEY_REDIS_URL = env.str("HUEY_REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
elif DEBUG:
    # A file cache is shared by the web server and the huey consumer.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        }
    }
else:
    REDIS_URL = env.str("REDIS_URL")  # raises, naming the variable

if not HUEY_REDIS_URL and not DEBUG:
    HUEY_REDIS_URL = env.str("HUEY_REDIS_URL")  # raises, naming the variable

HUEY = {
    "name": "rassylka",
    # Both set explicitly: `immediate` defaults to DEBUG, and immediate mode
    # would otherwise switch to in-memory storage.
    "immediate": env.bool("HUEY_IMMEDIATE", default=False),
    "immediate_use_memory": False,
    "consumer": {"workers": env.int("HUEY_WORKERS", default=2), "worker_type": "thread"},
}
if HUEY_REDIS_URL:
    HUEY.update(huey_class="huey.RedisHuey", url=HUEY_REDIS_URL)
else:  # development without Redis (`make run`)
    VAR_DIR.mkdir(exist_ok=True)
    HUEY.update(huey_class="huey.SqliteHuey", filename=str(VAR_DIR / "huey.sqlite3"))

# --- accounts: sign-in, sign-up, profile, invitations ------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None
GUARDIAN_MONKEY_PATCH_USER = False

ACCOUNT_ADAPTER = "shared_apps.accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_CHANGE_EMAIL = True
# The public site as people reach it: scheme://BASE_DOMAIN[:port]. Every absolute link (emails, preview,
# unsubscribe, hand-off, invitations, seed_demo) is built from it by saas.links.absolute_url; `make run`
# sets it from its port. Unset: HTTP_PROTOCOL://BASE_DOMAIN[:SITE_URL_PORT] (runserver's 8000 in DEBUG).
SITE_URL = env.str("SITE_URL", default="") or site_url_from_parts(
    env.str("HTTP_PROTOCOL", default="http" if DEBUG else "https"),
    BASE_DOMAIN,
    env.str("SITE_URL_PORT", default="") or (8000 if DEBUG else None),
)
ACCOUNT_DEFAULT_HTTP_PROTOCOL = parse_site_url(SITE_URL, BASE_DOMAIN).scheme
LOGIN_URL = "account_login"
# After signing in or up, people land on their list of workspaces.
LOGIN_REDIRECT_URL = "workspaces"
ACCOUNT_SIGNUP_REDIRECT_URL = "workspaces"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
# allauth's rate limits stay at their defaults (login failures, sign-ups, codes).
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Rassylka] "
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_SESSION_REMEMBER = None  # ask ("remember me")
# Avatar limits (the profile form refuses anything bigger, saving nothing).
AVATAR_MAX_BYTES = 2 * 1024 * 1024
AVATAR_MAX_PIXELS = (4000, 4000)
# How long an invitation link to a workspace stays valid.
INVITATION_MAX_AGE_DAYS = 7

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

CSU_EMAIL = env.str("CSU_EMAIL", default="")
CSU_PASSWORD = env.str("CSU_PASSWORD", default="")

# --- email ----------------------------------------------------------------

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="smtp://127.0.0.1:1025") if DEBUG else env.email_url("EMAIL_URL")
vars().update(EMAIL_CONFIG)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = required("DEFAULT_FROM_EMAIL", "Rassylka <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Development only: where the local mail catcher stores what it receives.
MAIL_CATCHER_DIR = env.str("MAIL_CATCHER_DIR", default="") if DEBUG else ""

# --- languages, time zones, date formats -------------------------------------

LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date-time format per language (saas/formats/): "30.11.2026 21:57", "30 Nov 2026, 21:57".
FORMAT_MODULE_PATH = ["saas.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Moscow")
USE_I18N = True
USE_TZ = True

# --- static and media -------------------------------------------------------

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- security -------------------------------------------------------------

SESSION_COOKIE_DOMAIN = env.str("SESSION_COOKIE_DOMAIN", default=None)
# The language cookie reaches the same hosts as the session cookie.
LANGUAGE_COOKIE_DOMAIN = SESSION_COOKIE_DOMAIN
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS",
    default=[f"{ACCOUNT_DEFAULT_HTTP_PROTOCOL}://{BASE_DOMAIN}", f"{ACCOUNT_DEFAULT_HTTP_PROTOCOL}://*.{BASE_DOMAIN}"],
)

# --- logging ----------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "[%(asctime)s] %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # run_huey adds its own handler to "huey" only when it has none; with one
        # here and no propagation to the root, each consumer line is printed once.
        "huey": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}

# --- delivery engine: sending, retries, circuit breaker, scheduler ----------------
# The campaign provider; defaults to EMAIL_URL (the transactional mail server).
DELIVERY_EMAIL = env.email_url("DELIVERY_EMAIL_URL") if env.str("DELIVERY_EMAIL_URL", default="") else EMAIL_CONFIG
DELIVERY_FROM_EMAIL = env.str("DELIVERY_FROM_EMAIL", default=DEFAULT_FROM_EMAIL)
# Seconds before any single call to the provider (connect, command, data) gives up.
DELIVERY_SMTP_TIMEOUT = env.float("DELIVERY_SMTP_TIMEOUT", default=10.0)
# A reused connection idle longer than this is checked with NOOP before sending.
DELIVERY_SMTP_IDLE_CHECK = env.float("DELIVERY_SMTP_IDLE_CHECK", default=30.0)
# Deliveries claimed per batch (one claim query and one bookkeeping write per batch).
DELIVERY_BATCH_SIZE = env.int("DELIVERY_BATCH_SIZE", default=500)
# Bookkeeping is also flushed when a batch runs this long.
DELIVERY_FLUSH_SECONDS = env.float("DELIVERY_FLUSH_SECONDS", default=5.0)
# A live worker's heartbeat renews its claims every third of this; a claim not renewed
# for this long is taken back from a worker that died (seconds).
DELIVERY_CLAIM_TIMEOUT = env.float("DELIVERY_CLAIM_TIMEOUT", default=30.0)
# Temporary failures: retry after base * 2**(attempt-1) seconds (capped), ±jitter, within the deadline.
DELIVERY_RETRY_BASE = env.float("DELIVERY_RETRY_BASE", default=60.0)
DELIVERY_RETRY_MAX_DELAY = env.float("DELIVERY_RETRY_MAX_DELAY", default=3600.0)
DELIVERY_RETRY_JITTER = env.float("DELIVERY_RETRY_JITTER", default=0.2)
DELIVERY_MAX_ATTEMPTS = env.int("DELIVERY_MAX_ATTEMPTS", default=8)
# Circuit breaker per workspace: this many temporary failures in a row open it for the cooldown
# (doubling up to the maximum while the probe keeps failing).
DELIVERY_BREAKER_THRESHOLD = env.int("DELIVERY_BREAKER_THRESHOLD", default=10)
DELIVERY_BREAKER_COOLDOWN = env.float("DELIVERY_BREAKER_COOLDOWN", default=30.0)
DELIVERY_BREAKER_MAX_COOLDOWN = env.float("DELIVERY_BREAKER_MAX_COOLDOWN", default=600.0)
# huey tasks started per run, so several consumer workers share a big run.
DELIVERY_WORKERS_PER_RUN = env.int("DELIVERY_WORKERS_PER_RUN", default=2)
# The tick leases a due schedule entry for this long; an unfinished run is looked at again this often
# (under the tick's 60 s: at every tick).
DELIVERY_WATCHDOG_SECONDS = env.float("DELIVERY_WATCHDOG_SECONDS", default=30.0)

# --- open and click tracking (tenant_apps/engagement) ---------------------------------
# The hit stream and the link addresses live here: a Redis with persistence (the queue's, by default).
TRACKING_REDIS_URL = env.str("TRACKING_REDIS_URL", default=HUEY_REDIS_URL or "redis://127.0.0.1:6379/0")
TRACKING_REDIS_TIMEOUT = env.float("TRACKING_REDIS_TIMEOUT", default=0.5)
TRACKING_STREAM = env.str("TRACKING_STREAM", default="rassylka:tracking")
# Hits read from the stream per drain statement (one INSERT per batch per workspace).
TRACKING_DRAIN_BATCH = env.int("TRACKING_DRAIN_BATCH", default=20000)
# A click this soon after the message was delivered is a link scanner, not a person.
TRACKING_SCANNER_SECONDS = env.float("TRACKING_SCANNER_SECONDS", default=5.0)
# X-Forwarded-For is believed only from these addresses (the local nginx).
TRACKING_TRUSTED_PROXIES = env.list("TRACKING_TRUSTED_PROXIES", default=["127.0.0.1", "::1"])
# --- outgoing webhooks (tenant_apps/webhooks) ------------------------------------------
# Requests to loopback addresses (127.0.0.0/8, ::1) are refused unless this is on (development, tests);
# private, link-local, multicast and reserved addresses are always refused.
WEBHOOKS_ALLOW_LOOPBACK = env.bool("WEBHOOKS_ALLOW_LOOPBACK", default=DEBUG)
# A CA bundle (PEM file) trusted for endpoints' certificates instead of the system's ("" = the system's).
WEBHOOKS_CA_BUNDLE = env.str("WEBHOOKS_CA_BUNDLE", default="")
# Seconds for connecting, and for each read of the answer.
WEBHOOKS_TIMEOUT = env.float("WEBHOOKS_TIMEOUT", default=10.0)
# Events per message (one signed HTTP request).
WEBHOOKS_BATCH_SIZE = env.int("WEBHOOKS_BATCH_SIZE", default=100)
# Failed messages are retried after base * 2**(attempt-1) seconds (capped) for this many hours.
WEBHOOKS_RETRY_BASE = env.float("WEBHOOKS_RETRY_BASE", default=5.0)
WEBHOOKS_RETRY_MAX_DELAY = env.float("WEBHOOKS_RETRY_MAX_DELAY", default=4 * 3600.0)
WEBHOOKS_RETRY_HOURS = env.float("WEBHOOKS_RETRY_HOURS", default=24.0)
# An endpoint failing without a single success for this many hours is disabled and its owners emailed.
WEBHOOKS_DISABLE_AFTER_HOURS = env.float("WEBHOOKS_DISABLE_AFTER_HOURS", default=24.0)
# --- sending identities, rate limits, quotas, fairness (tenant_apps/senders) -----------
# Fernet keys (comma-separated, newest first) that encrypt SMTP passwords and DKIM keys at rest.
SENDERS_ENCRYPTION_KEYS = required(
    "SENDERS_ENCRYPTION_KEYS", ["ZGV2LW9ubHktaW5zZWN1cmUtZmVybmV0LWtleS0wMDA="], cast=list
)
# DNS server for domain verification: "" = the system's resolver, or "host:port".
SENDERS_DNS_RESOLVER = env.str("SENDERS_DNS_RESOLVER", default="")
SENDERS_DNS_TIMEOUT = env.float("SENDERS_DNS_TIMEOUT", default=5.0)
# The SPF include that authorises the platform's relay, and the address DMARC reports should go to.
SENDERS_SPF_INCLUDE = env.str("SENDERS_SPF_INCLUDE", default=f"_spf.{BASE_DOMAIN}")
SENDERS_DMARC_RUA = env.str("SENDERS_DMARC_RUA", default=f"dmarc@{BASE_DOMAIN}")
# The platform relay's rate limits (0 = unlimited); own providers set theirs in their form.
SENDERS_PLATFORM_RATE_PER_SECOND = env.float("SENDERS_PLATFORM_RATE_PER_SECOND", default=0.0)
SENDERS_PLATFORM_RATE_PER_HOUR = env.int("SENDERS_PLATFORM_RATE_PER_HOUR", default=0)
# Platform default quotas per workspace, 0 = unlimited (managers change them per workspace in the console).
QUOTA_MESSAGES_PER_MONTH = env.int("QUOTA_MESSAGES_PER_MONTH", default=0)
QUOTA_CLIENTS_MAX = env.int("QUOTA_CLIENTS_MAX", default=0)

# --- deliverability feedback: bounces, complaints, suppression, reputation ---------------
# Return paths are bounces+<token>@BOUNCE_DOMAIN; its MX (or Postfix's transport map) leads to bounce_server.
BOUNCE_DOMAIN = env.str("BOUNCE_DOMAIN", default=f"bounces.{BASE_DOMAIN}")
BOUNCE_SERVER_HOST = env.str("BOUNCE_SERVER_HOST", default="127.0.0.1")
BOUNCE_SERVER_PORT = env.int("BOUNCE_SERVER_PORT", default=2525)
BOUNCE_MAX_MESSAGE_BYTES = env.int("BOUNCE_MAX_MESSAGE_BYTES", default=1024 * 1024)
# Raw bounce messages and webhook payloads are kept this long, then only their parsed fields.
FEEDBACK_RAW_KEEP_DAYS = env.int("FEEDBACK_RAW_KEEP_DAYS", default=30)
FEEDBACK_WEBHOOK_MAX_BYTES = env.int("FEEDBACK_WEBHOOK_MAX_BYTES", default=1024 * 1024)
# Amazon SNS signing certificates (and subscription confirmations) are fetched only from URLs matching this.
FEEDBACK_SNS_URL_PATTERN = env.str(
    "FEEDBACK_SNS_URL_PATTERN", default=r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"
)
# Reputation guard: a run passing either rate (per cent) after the minimum deliveries pauses the workspace.
REPUTATION_MIN_DELIVERIES = env.int("REPUTATION_MIN_DELIVERIES", default=200)
REPUTATION_MAX_HARD_BOUNCE_RATE = env.float("REPUTATION_MAX_HARD_BOUNCE_RATE", default=5.0)
REPUTATION_MAX_COMPLAINT_RATE = env.float("REPUTATION_MAX_COMPLAINT_RATE", default=0.1)
# A run's rates are counted at most this often while its bounces pour in (and once more after the last).
REPUTATION_CHECK_SECONDS = env.float("REPUTATION_CHECK_SECONDS", default=5.0)

# --- subscription forms (tenant_apps/audience/subscriptions.py) ----------------------------
# Posts to one form, and from one network (/24, /48), counted in Redis per window (seconds).
SUBSCRIPTION_FORM_LIMITS = {
    "window": env.int("SUBSCRIPTION_FORM_WINDOW", default=60),
    "per_ip": env.int("SUBSCRIPTION_FORM_POSTS_PER_IP", default=10),
    "per_form": env.int("SUBSCRIPTION_FORM_POSTS_PER_FORM", default=600),
}

# --- REST API (tenant_apps/api) -----------------------------------------------------------
# Per key: a token bucket refilled at this rate, holding up to the burst.
API_RATE_PER_SECOND = env.float("API_RATE_PER_SECOND", default=10.0)
API_RATE_BURST = env.int("API_RATE_BURST", default=50)
# Request bodies larger than this are refused with 413 before being read.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=16 * 1024 * 1024)
API_BULK_MAX_ROWS = 10_000
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenant_apps.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tenant_apps.api.permissions.KeyAccess"],
    "DEFAULT_PARSER_CLASSES": ["tenant_apps.api.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tenant_apps.api.problems.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PAGINATION_CLASS": "tenant_apps.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 100,
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Rassylka API",
    "DESCRIPTION": "The workspace's clients, lists, custom fields, messages, mailings and delivery log, and "
    "transactional sends. Authenticate with `Authorization: Bearer <key>` (keys: workspace settings → API keys; "
    "a key works only on its own workspace's host). Errors are RFC 9457 problem details "
    "(`application/problem+json`, field errors under `errors`); unknown fields are refused. Limits: a bulk upsert "
    "takes at most 10,000 rows; a body at most API_MAX_BODY_BYTES (16 MiB by default, else 413); each key may make "
    "API_RATE_PER_SECOND requests per second (10 by default) with bursts of API_RATE_BURST (50), stated in the "
    "`RateLimit-*` headers of every answer (429 with `Retry-After` beyond).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
}
