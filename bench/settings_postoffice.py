"""Settings for the django-post-office side of bench/send_mailing.py only (not the project's).

A plain Django project with post_office in its own database (BENCH_PO_DATABASE_URL),
sending through SMTP to the bench's smtp-sink (BENCH_SMTP_PORT).
"""

import os

import environ

env = environ.Env()

SECRET_KEY = "bench-only"  # noqa: S105
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = ["django.contrib.contenttypes", "post_office"]
DATABASES = {"default": env.db_url_config(os.environ["BENCH_PO_DATABASE_URL"])}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ["BENCH_SMTP_PORT"])
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = "Bench <bench@example.com>"
POST_OFFICE = {
    "BACKENDS": {"default": "django.core.mail.backends.smtp.EmailBackend"},
    "DEFAULT_PRIORITY": "medium",  # queued, sent by send_queued_mail
    "BATCH_SIZE": int(os.environ.get("BENCH_PO_BATCH_SIZE", "5000")),
    "MESSAGE_ID_ENABLED": True,
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
