"""Settings for the test suite: real PostgreSQL and Redis on 127.0.0.1 by default.

Override with the same variables as production (DATABASE_URL, REDIS_URL,
HUEY_REDIS_URL). Test databases get Django's `test_` prefix.
"""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rassylka")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
os.environ.setdefault("HUEY_REDIS_URL", "redis://127.0.0.1:6379/2")
os.environ.setdefault("BASE_DOMAIN", "localhost")

from .settings import *  # noqa: E402,F403

DEBUG = False
MAIL_CATCHER_DIR = ""
# Links in tests read http://localhost/…; a test that needs a port overrides SITE_URL (browser journeys do).
SITE_URL = "http://localhost"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run at once, in the test's process, against the real Redis storage (immediate_use_memory stays False).
HUEY["immediate"] = True  # noqa: F405
SECURE_SSL_REDIRECT = False
# A small pool: sign-ups in tests take pooled schemas, and the session start stays short.
WORKSPACE_POOL_SIZE = 2
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
# Tracking hits and links go to the cache's Redis database in tests: each test starts with it flushed.
TRACKING_REDIS_URL = os.environ["REDIS_URL"]
# The reputation guard counts a run after every recorded batch (its throttle has a test of its own).
REPUTATION_CHECK_SECONDS = 0
# Views are tested rendering; shared_apps/landing/tests/test_page_cache.py turns the page cache on.
PUBLIC_PAGE_CACHE_SECONDS = 0
# Webhook tests post to a local HTTPS receiver on 127.0.0.1 whose self-signed certificate they trust
# through WEBHOOKS_CA_BUNDLE (set by the fixture): verification stays on.
WEBHOOKS_ALLOW_LOOPBACK = True
