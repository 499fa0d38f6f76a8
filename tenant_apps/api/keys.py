"""API keys: making, finding by secret, revoking (inside the current workspace schema)."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from tenant_apps.delivery.scheduling import current_workspace
from tenants.models import ApiKeyHome

from .models import ApiKey

SECRET_START = "rk_"  # noqa: S105 (the visible start of every key, not a secret)
# last_used_at is written at most this often per key, not on every request.
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    """SHA-256 is enough: a secret is 256 random bits, nothing to brute-force as with passwords."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(*, name: str, access: str, expires_at: datetime | None, created_by: str = "") -> tuple[ApiKey, str]:
    """A new key and its secret; the secret is not stored and cannot be shown again."""
    prefix = SECRET_START + secrets.token_hex(4)
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name,
        access=access,
        prefix=prefix,
        secret_hash=hash_secret(secret),
        expires_at=expires_at,
        created_by=created_by,
    )
    ApiKeyHome.objects.create(secret_hash=key.secret_hash, workspace=current_workspace(), expires_at=expires_at)
    return key, secret


def key_for_secret(secret: str) -> ApiKey | None:
    """The usable key with this secret in the current workspace, or None (unknown, revoked, expired)."""
    if not secret.startswith(SECRET_START) or len(secret) > 100:
        return None
    # Usable = neither revoked nor expired. Raw SQL on purpose: every API request runs it, and compiling the ORM
    # query cost more CPU than PostgreSQL's index lookup. Never cached, so a revocation counts at once.
    found = ApiKey.objects.raw(
        "SELECT * FROM api_apikey WHERE secret_hash = %s AND revoked_at IS NULL"
        " AND (expires_at IS NULL OR expires_at > %s)",
        [hash_secret(secret), timezone.now()],
    )
    return next(iter(found), None)


def note_use(key: ApiKey) -> None:
    """Record when the key was last used (one conditional UPDATE, skipped within LAST_USED_PRECISION)."""
    now = timezone.now()
    if key.last_used_at and now - key.last_used_at < LAST_USED_PRECISION:
        return
    ApiKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
    ).update(last_used_at=now)
    key.last_used_at = now


def revoke_key(key: ApiKey) -> None:
    """The key stops working with the next request (keys are looked up on every request, never cached)."""
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    ApiKeyHome.objects.filter(secret_hash=key.secret_hash).delete()


def belongs_elsewhere(secret: str) -> bool:
    """Whether this secret is a usable key of another workspace (asked only once it is unknown here)."""
    if not secret.startswith(SECRET_START) or len(secret) > 100:
        return False
    return (
        ApiKeyHome.objects.filter(secret_hash=hash_secret(secret))
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .exists()
    )


def keys_for_settings():
    return ApiKey.objects.order_by("revoked_at", "-created")
