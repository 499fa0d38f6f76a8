"""An uploaded import file, kept in PostgreSQL as a large object and read back as a stream.

The file stays in the database (a huey worker on another machine reads it,
as before), but no longer as one bytea value loaded whole: it is written
and read in MiB chunks (`lo_from_bytea`, `lo_put`, `lo_get`, each its own
statement, so no transaction has to stay open for the hours a large import
may take). Memory stays flat whatever the size: a 60 MB file is never in
Python at once. A large object belongs to the database, not to a schema:
`delete` is called when the import finishes.
"""

import io
from collections.abc import Iterable

from django.db import connection

CHUNK_BYTES = 1024 * 1024


def store(chunks: Iterable[bytes]) -> tuple[int, int]:
    """Write the chunks into a new large object; (oid, size)."""
    oid, size = None, 0
    with connection.cursor() as cursor:
        for chunk in chunks:
            if oid is None:
                cursor.execute("SELECT lo_from_bytea(0, %s)", [chunk])
                oid = cursor.fetchone()[0]
            else:
                cursor.execute("SELECT lo_put(%s, %s, %s)", [oid, size, chunk])
            size += len(chunk)
        if oid is None:
            cursor.execute("SELECT lo_from_bytea(0, '')")
            oid = cursor.fetchone()[0]
    return oid, size


def delete(oid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT lo_unlink(oid) FROM pg_largeobject_metadata WHERE oid = %s", [oid])


class LargeObjectReader(io.RawIOBase):
    """A seekable binary stream over a large object (zipfile needs seeking)."""

    def __init__(self, oid: int, size: int):
        self.oid, self.size, self.position = oid, size, 0
        self.ahead, self.ahead_at = b"", 0  # the last chunk read, and where it starts

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer):
        length = min(len(buffer), self.size - self.position)
        if length <= 0:
            return 0
        start = self.position - self.ahead_at
        if not 0 <= start < len(self.ahead):
            # Read a whole chunk ahead: TextIOWrapper asks for 8 KiB at a time,
            # and a statement per 8 KiB was 8,000 round trips for a 60 MB file.
            with connection.cursor() as cursor:
                cursor.execute("SELECT lo_get(%s, %s, %s)", [self.oid, self.position, max(length, CHUNK_BYTES)])
                self.ahead, self.ahead_at, start = bytes(cursor.fetchone()[0]), self.position, 0
        data = self.ahead[start : start + length]
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def open_stored(oid: int, size: int) -> io.BufferedReader:
    return io.BufferedReader(LargeObjectReader(oid, size), CHUNK_BYTES)
