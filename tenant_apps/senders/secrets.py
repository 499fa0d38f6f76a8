"""Re-encrypting a workspace's stored secrets with the newest key (key rotation)."""

from django.db import connection, transaction

from .crypto import rotate

# (table, column) of every encrypted column of this app.
ENCRYPTED_COLUMNS = [("senders_smtpprovider", "password"), ("senders_dkimkey", "private_key")]


def rotate_workspace_secrets() -> int:
    """Rotate the tokens in place, on the raw column (no decryption to Python objects needed)."""
    changed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for table, column in ENCRYPTED_COLUMNS:
            cursor.execute(f'SELECT id, "{column}" FROM "{table}" WHERE "{column}" <> \'\' FOR UPDATE')  # noqa: S608
            rows = [(rotate(token), pk) for pk, token in cursor.fetchall()]
            if rows:
                cursor.executemany(f'UPDATE "{table}" SET "{column}" = %s WHERE id = %s', rows)  # noqa: S608
            changed += len(rows)
    return changed
