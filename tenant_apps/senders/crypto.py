"""Secrets at rest (SMTP passwords, DKIM private keys): MultiFernet, keys from the environment.

`SENDERS_ENCRYPTION_KEYS` is a list of Fernet keys, newest first. New values
are encrypted with the first; any of them decrypts, so adding a key never
breaks old rows. `python manage.py rotate_sender_secrets` re-encrypts every
row with the newest key, after which the old key can be removed.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

__all__ = ["InvalidToken", "EncryptedTextField", "decrypt", "encrypt", "rotate"]


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ValueError("SENDERS_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.SENDERS_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    return fernet().decrypt(token.encode("ascii")).decode("utf-8")


def rotate(token: str) -> str:
    """The same secret encrypted with the newest key."""
    return fernet().rotate(token.encode("ascii")).decode("ascii")


class EncryptedTextField(models.TextField):
    """A text column that holds a Fernet token; Python sees the plain value.

    The empty string stays empty (no secret set), so forms can tell "keep the
    current password" from "set one".
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
