"""Settings for bench/public_pages.py's gunicorn: the project's own, plus two yardsticks.

- /ok: a bare "ok" answered by a first middleware (bench/tracking_settings.py),
  the least a Django request can cost;
- /bench/bare/: a bare view behind the whole middleware stack and URL routing,
  what any public page pays before its view runs.
Neither is in the production URLs.
"""

from saas.settings import *  # noqa: F403

MIDDLEWARE = ["bench.tracking_settings.BareOk", *MIDDLEWARE]  # noqa: F405
PUBLIC_SCHEMA_URLCONF = "bench.public_pages_urls"
