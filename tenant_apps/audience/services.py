"""Clients: search, saving, subscription state, CSV export and import.

Everything here runs inside the current workspace schema; callers outside a
request (the import task, the benchmark) enter it with `schema_context`.
"""

import codecs
import contextlib
import csv
import hashlib
import io
import json
import queue
import re
import sys
import threading
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from itertools import islice

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from shared_apps.console import index as console_index
from shared_apps.landing import counters
from tenant_apps.webhooks import events as webhook_events

from . import fields as custom_fields
from . import importfile, lists
from .models import Client, ImportJob

# --- list, search, saving ---------------------------------------------------------

SUBSCRIBED, UNSUBSCRIBED = "subscribed", "unsubscribed"


def search_clients(query="", status="", list_id=None):
    """Clients matching a substring of the email or name, optionally by subscription state and list.

    The substring search is served by the trigram indexes (migration 0002);
    ordering by lower(email) is served by the unique index.
    """
    clients = Client.objects.all()
    query = (query or "").strip()
    if query:
        clients = clients.filter(Q(email__ilike=query) | Q(full_name__ilike=query))
    if status == SUBSCRIBED:
        clients = clients.filter(is_subscribed=True)
    elif status == UNSUBSCRIBED:
        clients = clients.filter(is_subscribed=False)
    clients = lists.filter_by_list(clients, list_id)
    return clients.order_by(Lower("email"))  # unique, so a full order


def email_taken(email, exclude_pk=None):
    """Whether another client already has this email, ignoring case (uses the unique index)."""
    clients = Client.objects.alias(email_lower=Lower("email")).filter(email_lower=Lower(Value(email)))
    if exclude_pk is not None:
        clients = clients.exclude(pk=exclude_pk)
    return clients.exists()


class EmailTaken(Exception):
    """Another client took the email between the form's check and the save."""


def clients_changed(*, saved=(), saved_ids=(), deleted_ids=(), added_emails=(), removed_emails=()):
    """The one call after clients of the current workspace change, in the change's transaction.

    Keeps the public figures that summarise clients in step: the home page's
    unique recipients (emails new to, or gone from, the workspace) and the
    console's client index (`saved`: Client objects or index rows; `saved_ids`:
    clients to read again, e.g. after a bulk UPDATE).
    """
    counters.recipients_removed(removed_emails)
    counters.recipients_added(added_emails)
    rows = [console_index.client_row(c) if isinstance(c, Client) else c for c in saved]
    saved_ids = list(saved_ids)
    if saved_ids:
        rows += console_index.client_rows(saved_ids)
    console_index.clients_saved(rows)
    console_index.clients_deleted(deleted_ids)


def save_client(client):
    """Save a client (new or changed), keeping `unsubscribed_at` in step with `is_subscribed`.

    A new client, or a new email, updates the home page's unique recipients
    in the same transaction.
    """
    set_subscription(client, client.is_subscribed)
    try:
        with transaction.atomic():
            before = Client.objects.filter(pk=client.pk).values_list("email", "is_subscribed").first()
            old_email, was_subscribed = before or (None, False)
            client.save()
            email_changed = old_email is None or old_email.lower() != client.email.lower()
            clients_changed(
                saved=[client],
                added_emails=[client.email] if email_changed else [],
                removed_emails=[old_email] if email_changed and old_email is not None else [],
            )
            if client.is_subscribed != was_subscribed:
                webhook_events.subscription_changed([(client.pk, client.email)], subscribed=client.is_subscribed)
    except IntegrityError as error:
        raise EmailTaken from error
    return client


def set_subscription(client, subscribed):
    """Unsubscribing records when; subscribing again clears it."""
    client.is_subscribed = subscribed
    if subscribed:
        client.unsubscribed_at = None
    elif client.unsubscribed_at is None:
        client.unsubscribed_at = timezone.now()


def delete_client(client):
    with transaction.atomic():
        client_id = client.pk
        client.delete()
        clients_changed(deleted_ids=[client_id], removed_emails=[client.email])


# --- CSV export -------------------------------------------------------------------

EXPORT_COLUMNS = ("email", "full_name", "comment", "subscribed", "unsubscribed_at", "created")
# Spreadsheets run a cell starting with one of these as a formula ("CSV
# injection"); export prefixes such cells with an apostrophe and import drops it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value):
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def unescape_formula(value):
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


class _Echo:
    def write(self, value):
        return value


def export_rows(clients):
    """CSV lines (str) for the given clients: a BOM so Excel reads UTF-8, a header, one row each.

    Custom fields follow the fixed columns, one column per field named by its
    key, so the file imports back into the same fields.
    """
    keys = custom_fields.field_keys()
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(EXPORT_COLUMNS + tuple(keys))
    rows = clients.values_list("email", "full_name", "comment", "is_subscribed", "unsubscribed_at", "created", "fields")
    for email, full_name, comment, subscribed, unsubscribed_at, created, values in rows.iterator(chunk_size=2000):
        yield writer.writerow(
            (
                escape_formula(email),
                escape_formula(full_name),
                escape_formula(comment),
                "yes" if subscribed else "no",
                unsubscribed_at.isoformat() if unsubscribed_at else "",
                created.isoformat(),
                *(escape_formula(custom_fields.csv_value((values or {}).get(key))) for key in keys),
            )
        )


# --- CSV import -------------------------------------------------------------------

# One file of a million clients (about 60 MB as CSV) fits; a zip holding one CSV counts by its own size.
MAX_IMPORT_BYTES = 100 * 1024 * 1024
MAX_REPORTED_ERRORS = 1000
BATCH_SIZE = 5000
SCAN_CHUNK = 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"
MAX_FULL_NAME = Client._meta.get_field("full_name").max_length
MAX_EMAIL = Client._meta.get_field("email").max_length

COLUMN_ALIASES = {
    "email": {"email", "e-mail", "e_mail", "mail", "почта", "email адрес", "эл. почта", "электронная почта"},
    "full_name": {"full_name", "full name", "fullname", "name", "имя", "фио", "полное имя"},
    "comment": {"comment", "comments", "note", "notes", "комментарий", "примечание"},
}
DELIMITERS = (",", ";", "\t")

# Reasons are stored untranslated and translated when the report is shown.
REASON_EMPTY_EMAIL = gettext_noop("the email is empty")
REASON_INVALID_EMAIL = gettext_noop("not a valid email address")
REASON_DUPLICATE = gettext_noop("the same email is already on line %(line)s of this file")
REASON_FEWER_CELLS = gettext_noop("fewer cells than columns in the header")
REASON_MORE_CELLS = gettext_noop(
    "more cells than columns in the header (a comma or semicolon inside an unquoted value?)"
)
REASON_NAME_TOO_LONG = gettext_noop("the name is longer than %(max)s characters")
REASON_NUL = gettext_noop("contains a NUL character")

MESSAGE_CRASHED = gettext_noop("The import stopped because of an internal error; the rows before it were imported.")
MESSAGE_CLIENT_LIMIT = gettext_noop(
    "The workspace reached its limit of %(max)s clients: the import stopped at line %(line)s; "
    "the rows before it were imported."
)
MESSAGE_INTERRUPTED = gettext_noop(
    "The import was interrupted too many times; the rows before the interruption were imported."
)

# A running import saves a heartbeat after every batch (a fraction of a
# second); one silent for this long lost its worker and is resumed.
IMPORT_STALE_AFTER = timedelta(minutes=5)
# Resumes of one job before it is given up (the file may be what kills the worker).
MAX_IMPORT_ATTEMPTS = 3

validate_email = EmailValidator()
# Django's own patterns, compiled once: its validator reaches them through lazy
# proxies, a cost per row that was a tenth of a million-row import's Python time.
EMAIL_USER_RE = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)
EMAIL_DOMAIN_RE = re.compile(EmailValidator.domain_regex.pattern, EmailValidator.domain_regex.flags)


def email_is_valid(email):
    """Django's EmailValidator's verdict: the common case decided here with its own patterns, the rest by it."""
    user, at, domain = email.rpartition("@")
    if at and len(email) <= 320 and EMAIL_USER_RE.match(user):
        if domain in validate_email.domain_allowlist or EMAIL_DOMAIN_RE.match(domain):
            return True
    try:
        validate_email(email)  # IP literals, and every refusal
    except ValidationError:
        return False
    return True


class ImportRefused(Exception):
    """The whole file is unusable (encoding, header, size); nothing is imported."""

    def __init__(self, message, **params):
        super().__init__(message)
        self.message, self.params = message, params


MESSAGE_NOT_UTF16 = gettext_noop("The file starts like UTF-16 but is not valid UTF-16.")
MESSAGE_NOT_TEXT = gettext_noop(
    "The file is neither UTF-8 nor Windows-1251 text. Save it as “CSV UTF-8” and upload it again."
)
MESSAGE_ZIP = gettext_noop("A zip file must hold exactly one CSV file.")


def open_import_file(job):
    """The job's CSV as a binary stream: its stored file, or the one CSV inside a stored zip."""
    if job.file_oid is not None:
        stream = importfile.open_stored(job.file_oid, job.file_size)
    else:
        stream = io.BytesIO(bytes(job.data))
    if stream.read(len(ZIP_MAGIC)) != ZIP_MAGIC:
        stream.seek(0)
        return stream
    try:
        archive = zipfile.ZipFile(stream)
        members = [m for m in archive.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")]
        if len(members) != 1:
            raise ImportRefused(MESSAGE_ZIP)
        return archive.open(members[0])
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError):
        raise ImportRefused(MESSAGE_ZIP) from None


def scan_encoding(stream):
    """(Python codec, name shown, line count) of a CSV byte stream, read once in chunks.

    UTF-8 (with or without BOM), UTF-16 with BOM, or Windows-1251: Russian
    Excel saves CSV in Windows-1251; a file that is not valid UTF-8 from
    start to end is read as that, and the report names the encoding used.
    """
    head = stream.read(2)
    if head in (b"\xff\xfe", b"\xfe\xff"):
        codec, name = "utf-16", "UTF-16"
    else:
        codec, name = "utf-8-sig", "UTF-8"
    decoder = codecs.getincrementaldecoder(codec)()
    lines, chunk, utf8, undefined_byte = 0, head, True, False
    while chunk:
        lines += chunk.count(b"\n")
        # The one byte Windows-1251 leaves undefined, wherever it is (the first two bytes too).
        undefined_byte = undefined_byte or b"\x98" in chunk
        if utf8 or codec == "utf-16":
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                if codec == "utf-16":
                    raise ImportRefused(MESSAGE_NOT_UTF16) from None
                utf8 = False
        if not utf8 and undefined_byte:
            raise ImportRefused(MESSAGE_NOT_TEXT)
        chunk = stream.read(SCAN_CHUNK)
    try:
        if utf8:
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        if codec == "utf-16":
            raise ImportRefused(MESSAGE_NOT_UTF16) from None
        utf8 = False
    if not utf8 and undefined_byte:
        raise ImportRefused(MESSAGE_NOT_TEXT)
    if not utf8:
        codec, name = "cp1251", "Windows-1251"
    return codec, name, lines


def normalise_header(cell):
    return " ".join(cell.replace("\ufeff", "").strip().lower().split())


def column_positions(header, definitions=()):
    """{field: index} for the known columns of a header row (first occurrence wins).

    A column named like a custom field's key or label fills that field, as
    "fields.<key>".
    """
    aliases_of = dict(COLUMN_ALIASES)
    for definition in definitions:
        aliases_of[custom_fields.FIELD_COLUMN + definition.key] = {
            definition.key.lower(),
            normalise_header(definition.label),
        }
    positions = {}
    for index, cell in enumerate(header):
        name = normalise_header(cell)
        for field, aliases in aliases_of.items():
            if name in aliases and field not in positions:
                positions[field] = index
                break
    return positions


def sniff_delimiter(text):
    """The delimiter whose reading of the header row yields an email column."""
    for delimiter in DELIMITERS:
        try:
            header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
        except csv.Error:
            continue
        if "email" in column_positions(header):
            return delimiter
    raise ImportRefused(
        gettext_noop(
            "The first row must be a header with an “email” column (and optionally “full_name” or “name”, "
            "and “comment”), separated by commas or semicolons."
        )
    )


def file_delimiter(job, codec):
    with io.TextIOWrapper(open_import_file(job), encoding=codec, newline="") as text:
        return sniff_delimiter(text.read(64 * 1024))


def open_csv(job, codec, definitions=()):
    """(positions, header length, iterator of (line number, cells)) of the job's file, streamed.

    Blank rows are skipped; bad CSV raises ImportRefused when the reader gets there.
    """
    delimiter = file_delimiter(job, codec)
    return read_csv(io.TextIOWrapper(open_import_file(job), encoding=codec, newline=""), delimiter, codec, definitions)


def read_csv(text, delimiter, codec, definitions=()):
    """open_csv's answer for a text stream whose delimiter is known (reads no database: see CleanedBatches)."""
    reader = csv.reader(text, delimiter=delimiter)
    header = next(reader)

    def rows():
        line = reader.line_num + 1
        try:
            for cells in reader:
                if any(cell.strip() for cell in cells):
                    yield line, cells
                line = reader.line_num + 1
        except csv.Error as error:
            raise ImportRefused(
                gettext_noop("The file is not valid CSV near line %(line)s: %(error)s"),
                line=reader.line_num,
                error=str(error),
            ) from None
        except UnicodeDecodeError:
            raise ImportRefused(MESSAGE_NOT_UTF16 if codec == "utf-16" else MESSAGE_NOT_TEXT) from None
        finally:
            text.close()

    return column_positions(header, definitions), len(header), rows()


class QueuedBytes(io.RawIOBase):
    """A byte stream fed through a queue by another thread (None ends it)."""

    def __init__(self, chunks, stop):
        self.chunks, self.stop, self.ended = chunks, stop, False
        self.pending, self.offset = b"", 0  # the chunk being read, and how far

    def readable(self):
        return True

    def readinto(self, buffer):
        while self.offset >= len(self.pending):
            if self.ended:  # readers may ask again after the end
                return 0
            try:
                chunk = self.chunks.get(timeout=0.1)
            except queue.Empty:
                if self.stop.is_set():
                    raise CleaningStopped from None
                continue
            if chunk is None:
                self.ended = True
                return 0
            self.pending, self.offset = chunk, 0
        # Readers ask for 8 KiB at a time: copy that much, not the rest of the chunk.
        data = self.pending[self.offset : self.offset + len(buffer)]
        self.offset += len(data)
        buffer[: len(data)] = data
        return len(data)


PROCESS_SWITCH_INTERVAL = sys.getswitchinterval()


class CleaningStopped(Exception):
    """The import stopped reading the file (finished early or failed); the cleaning thread ends."""


class CleanedBatches:
    """The job's rows parsed and checked (clean_row) in a thread, a batch ahead of the caller.

    Parsing and checking a row costs about as much Python time as PostgreSQL
    spends writing it; with the two on different cores a 2-core machine
    imports nearly twice as fast. The thread never touches the database:
    the caller's thread reads the stored file (the same connection, so a
    test's or an outer transaction's file is visible) and hands it over in
    MiB chunks while it waits for a batch. Memory stays flat: at most a few
    chunks and QUEUED_BATCHES batches are in flight.

    Iterating yields ("header", positions, header length), then ("replay",
    checked rows) for the first `skip` rows and ("batch", rows read, checked
    rows) for the rest, BATCH_SIZE rows each; checked rows are as
    check_rows's before the duplicate check.
    """

    QUEUED_BATCHES = 2
    QUEUED_CHUNKS = 2
    # The writing thread waits for the GIL after each statement; the default
    # switch interval (5 ms) would cost it up to that much per statement.
    SWITCH_INTERVAL = 0.0005

    def __init__(self, job, codec, definitions, skip):
        self.stop = threading.Event()
        self.chunks, self.batches = queue.Queue(), queue.Queue(maxsize=self.QUEUED_BATCHES)
        delimiter = file_delimiter(job, codec)
        self.source, self.read_all = open_import_file(job), False
        self.thread = threading.Thread(
            target=self.clean, args=(codec, delimiter, definitions, skip), name="import-cleaning", daemon=True
        )

    def __enter__(self):
        sys.setswitchinterval(self.SWITCH_INTERVAL)
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        self.thread.join()
        # The process's own value, not the one found on entry: with two imports in
        # one worker, restoring what each found could leave the short one for good.
        sys.setswitchinterval(PROCESS_SWITCH_INTERVAL)
        self.source.close()

    def clean(self, codec, delimiter, definitions, skip):
        try:
            text = io.TextIOWrapper(
                io.BufferedReader(QueuedBytes(self.chunks, self.stop), importfile.CHUNK_BYTES),
                encoding=codec,
                newline="",
            )
            positions, header_length, rows = read_csv(text, delimiter, codec, definitions.values())
            self.hand_over(("header", positions, header_length))
            for done in batched(islice(rows, skip), BATCH_SIZE):
                self.hand_over(("replay", clean_rows(done, positions, header_length, definitions)))
            for batch in batched(rows, BATCH_SIZE):
                self.hand_over(("batch", len(batch), clean_rows(batch, positions, header_length, definitions)))
            self.hand_over(("end",))
        except CleaningStopped:
            pass
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
            with contextlib.suppress(CleaningStopped):
                self.hand_over(("error", error))

    def hand_over(self, item):
        while True:
            try:
                return self.batches.put(item, timeout=0.1)
            except queue.Full:
                if self.stop.is_set():
                    raise CleaningStopped from None

    def __iter__(self):
        while True:
            item = self.next_item()
            if item[0] == "end":
                return
            if item[0] == "error":
                raise item[1]
            yield item

    def next_item(self):
        """The next item; meanwhile the file is fed to the thread, a few chunks ahead of it."""
        while True:
            while not self.read_all and self.chunks.qsize() < self.QUEUED_CHUNKS:
                chunk = self.source.read(importfile.CHUNK_BYTES)
                self.read_all = not chunk
                self.chunks.put(chunk or None)
            try:
                return self.batches.get(timeout=0.002)
            except queue.Empty:
                continue


def batched(iterable, size) -> Iterator[list]:
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch


class FirstLines:
    """Where each email first appears in the file, in a temporary table (memory stays flat).

    Temporary: dropped with the connection, so a resumed run rebuilds it from
    the rows before its starting point, as it reads them again.
    """

    TABLE = "audience_import_first_lines"

    def __init__(self):
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.TABLE} (key text PRIMARY KEY, line integer)")
            cursor.execute(f"TRUNCATE {self.TABLE}")

    # The main query sees the table as it was before the CTE's INSERT: `earlier`
    # holds the keys of earlier batches, `first` the ones this batch added. The
    # subquery (an index probe) runs for the repeats only; a join would hash the
    # whole table, which grows with the file.
    REGISTER_SQL = f"""
        WITH batch AS (SELECT key, line FROM unnest(%s::text[], %s::int[]) AS batch(key, line)),
        first AS (
            INSERT INTO {TABLE} (key, line) SELECT key, line FROM batch ORDER BY line
            ON CONFLICT (key) DO NOTHING RETURNING key, line
        )
        SELECT batch.line, COALESCE((SELECT line FROM {TABLE} earlier WHERE earlier.key = batch.key), first.line)
        FROM batch LEFT JOIN first ON first.key = batch.key
        WHERE first.line IS DISTINCT FROM batch.line
    """  # noqa: S608

    def register(self, keys_and_lines):
        """Record [(lower(email), line)] in line order; {line: the first line} of the lines that repeat an email.

        One statement, and only the repeats come back (about 1 % of a file).
        """
        if not keys_and_lines:
            return {}
        with transaction.atomic(), connection.cursor() as cursor:
            # The planner's guess for the subquery passes the JIT threshold: compiling
            # took 120 ms a batch, twenty times the statement's own work.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(
                self.REGISTER_SQL,
                [[key for key, _line in keys_and_lines], [line for _key, line in keys_and_lines]],
            )
            return dict(cursor.fetchall())


def clean_row(cells, positions, header_length, definitions=None):
    """({email, full_name, comment}, None, {}) for a good row, or (None, reason, params)."""
    if len(cells) <= max(positions.values()):
        return None, REASON_FEWER_CELLS, {}
    if len(cells) > header_length and any(cell.strip() for cell in cells[header_length:]):
        return None, REASON_MORE_CELLS, {}
    values = {field: unescape_formula(cells[index].strip()) for field, index in positions.items()}
    values.setdefault("full_name", "")
    values.setdefault("comment", "")
    return clean_client_values(values, definitions)


def clean_client_values(values, definitions=None):
    """The checks every bulk path (CSV import, API bulk upsert) applies to one client's values.

    `values` has "email" and optionally "full_name", "comment" (strings) and
    "fields.<key>" (a custom field's raw value). Returns
    ({email, full_name?, comment?, fields}, None, {}) or (None, reason, params).
    """
    if any("\x00" in value for value in values.values() if isinstance(value, str)):
        return None, REASON_NUL, {}  # PostgreSQL text cannot hold NUL
    email = values["email"]
    if not email:
        return None, REASON_EMPTY_EMAIL, {}
    if len(email) > MAX_EMAIL or not email_is_valid(email):
        return None, REASON_INVALID_EMAIL, {}
    if len(values.get("full_name") or "") > MAX_FULL_NAME:
        return None, REASON_NAME_TOO_LONG, {"max": MAX_FULL_NAME}
    values["fields"] = {}
    for column in [name for name in values if name.startswith(custom_fields.FIELD_COLUMN)]:
        definition = definitions[column.removeprefix(custom_fields.FIELD_COLUMN)]
        try:
            value = custom_fields.clean_value(definition, values.pop(column))
        except custom_fields.InvalidValue as error:
            return None, error.message, error.params
        if value is not None:
            values["fields"][definition.key] = value
    return values, None, {}


INSERT_SQL = """
    INSERT INTO audience_client (email, full_name, comment, fields, is_subscribed, created, updated)
    SELECT email, full_name, comment, fields::jsonb, true, %s, %s
    FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS batch(email, full_name, comment, fields)
    ON CONFLICT DO NOTHING
    RETURNING id, email, full_name, is_subscribed, created
"""


def insert_new_clients(batch, *, new_emails=None):
    """Insert the rows whose email is not there yet; returns how many were inserted.

    The new emails go to the site's unique-recipient counts, or, with a
    `new_emails` list, are appended to it for the caller to count later
    (OrderedWriters: that count updates one shared row).
    """
    if not batch:
        return 0
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            INSERT_SQL,
            [
                now,
                now,
                [row["email"] for row in batch],
                [row["full_name"] for row in batch],
                [row["comment"] for row in batch],
                [json.dumps(row["fields"], ensure_ascii=False) if row.get("fields") else "{}" for row in batch],
            ],
        )
        created = cursor.fetchall()
    added = [row[1] for row in created]
    if new_emails is not None:
        new_emails.extend(added)
        added = []
    clients_changed(saved=created, added_emails=added)  # in the batch's transaction
    webhook_events.subscription_changed([(row[0], row[1]) for row in created], subscribed=True, at=now)
    return len(created)


UPDATE_EXISTING_SQL = """
    UPDATE audience_client c SET
        full_name = COALESCE(batch.full_name, c.full_name),
        comment = COALESCE(batch.comment, c.comment),
        fields = c.fields || batch.fields::jsonb,
        is_subscribed = COALESCE(batch.subscribed, c.is_subscribed),
        unsubscribed_at = CASE
            WHEN batch.subscribed IS NULL THEN c.unsubscribed_at
            WHEN batch.subscribed THEN NULL
            ELSE COALESCE(c.unsubscribed_at, %s) END,
        updated = %s
    FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::boolean[])
        AS batch(email, full_name, comment, fields, subscribed),
        audience_client prior  -- the row as it was: RETURNING tells a subscription that changed
    WHERE lower(c.email) = lower(batch.email) AND prior.id = c.id
    RETURNING lower(c.email), c.id, c.email, c.is_subscribed, prior.is_subscribed, c.full_name, c.created
"""

INSERT_UPSERTED_SQL = """
    INSERT INTO audience_client (email, full_name, comment, fields, is_subscribed, unsubscribed_at, created, updated)
    SELECT email, COALESCE(full_name, ''), COALESCE(comment, ''), fields::jsonb, COALESCE(subscribed, true),
        CASE WHEN subscribed = false THEN %s::timestamptz END, %s, %s
    FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::boolean[])
        AS batch(email, full_name, comment, fields, subscribed)
    ON CONFLICT DO NOTHING
    RETURNING lower(email), id, email, is_subscribed, NULL, full_name, created
"""


def _upsert_arrays(rows):
    return [
        [row["email"] for row in rows],
        [row.get("full_name") for row in rows],
        [row.get("comment") for row in rows],
        [json.dumps(row.get("fields") or {}, ensure_ascii=False) for row in rows],
        [row.get("is_subscribed") for row in rows],
    ]


def upsert_clients(rows):
    """Create or update clients by email, set-based (two statements for any number of rows).

    Each row is a cleaned {email, full_name?, comment?, fields, is_subscribed?}
    with distinct emails; a missing (None) value keeps the stored one, given
    custom fields are merged into the stored ones. New clients count against
    the workspace's client limit. Returns (created emails, updated emails,
    emails refused for the limit), all lowercased. Call inside a transaction:
    the public figures, the console index and the webhook events of the
    subscriptions that changed (a new subscribed client included) go with it.
    """
    from tenant_apps.senders.quotas import client_room, workspace_here

    if not rows:
        return [], [], []
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(UPDATE_EXISTING_SQL, [now, now, *_upsert_arrays(rows)])
        updated_rows = cursor.fetchall()
        updated = {row[0] for row in updated_rows}
        new_rows = [row for row in rows if row["email"].lower() not in updated]
        room = client_room(workspace_here())
        over_limit = [] if room is None else [row["email"].lower() for row in new_rows[room:]]
        new_rows = new_rows if room is None else new_rows[:room]
        created_rows = []
        if new_rows:
            cursor.execute(INSERT_UPSERTED_SQL, [now, now, now, *_upsert_arrays(new_rows)])
            created_rows = cursor.fetchall()
    created = [row[0] for row in created_rows]
    # The console index rows, (id, email, full_name, is_subscribed, created), from what the statements returned.
    index_rows = [(row[1], row[2], row[5], row[3], row[6]) for row in updated_rows + created_rows]
    clients_changed(saved=index_rows, added_emails=created)
    flipped = [row for row in updated_rows if row[3] != row[4]]
    for subscribed in (True, False):
        webhook_events.subscription_changed(
            [(row[1], row[2]) for row in flipped if row[3] is subscribed]
            + [(row[1], row[2]) for row in created_rows if subscribed and row[3]],
            subscribed=subscribed,
            at=now,
        )
    return created, sorted(updated), over_limit


def create_import_job(uploaded_file, uploaded_by="", target_list=None):
    """A pending job with the uploaded file streamed into the database (never whole in memory)."""
    oid, size = importfile.store(uploaded_file.chunks(importfile.CHUNK_BYTES))
    return ImportJob.objects.create(
        file_name=uploaded_file.name[:255],
        file_oid=oid,
        file_size=size,
        uploaded_by=uploaded_by or "",
        target_list=target_list,
    )


def claim_import(job_id):
    """Take a job for running, or None when another worker has it or it is finished.

    A pending job is free; so is a running one whose heartbeat is older than
    IMPORT_STALE_AFTER (its worker died). One conditional UPDATE decides, so
    two workers never run the same job at once.
    """
    now = timezone.now()
    lost_worker = Q(status=ImportJob.Status.RUNNING) & (
        Q(heartbeat__lt=now - IMPORT_STALE_AFTER) | Q(heartbeat__isnull=True)
    )
    claimed = (
        ImportJob.objects.filter(pk=job_id)
        .filter(Q(status=ImportJob.Status.PENDING) | lost_worker)
        .update(status=ImportJob.Status.RUNNING, heartbeat=now, attempts=F("attempts") + 1)
    )
    return ImportJob.objects.get(pk=job_id) if claimed else None


def run_import(job):
    """Import a job's file into the current schema, saving progress after every batch.

    Good rows are imported and bad ones reported with their line numbers; an
    email already in the workspace changes nothing and counts as already
    there, so importing the same file again changes nothing. A job whose
    worker died part-way continues after its last saved batch.
    """
    now = timezone.now()
    job.status, job.started_at, job.heartbeat = ImportJob.Status.RUNNING, job.started_at or now, now
    job.save(update_fields=["status", "started_at", "heartbeat"])
    if job.attempts > MAX_IMPORT_ATTEMPTS:
        # The file itself may be what kills the worker; stop trying.
        finish(job, ImportJob.Status.FAILED, [MESSAGE_INTERRUPTED, {}])
        return job
    try:
        import_rows(job)
    except ImportRefused as refusal:
        finish(job, ImportJob.Status.FAILED, [refusal.message, refusal.params])
    except Exception:
        # Unexpected (the database went away...): say so instead of leaving the
        # page polling forever; the rows imported so far stay, and importing
        # the file again is safe.
        finish(job, ImportJob.Status.FAILED, [MESSAGE_CRASHED, {}])
        raise
    else:
        finish(job, ImportJob.Status.DONE)
    return job


def import_rows(job):
    """Stream the file in batches; each batch's clients, counts and errors commit together.

    Rows before processed_rows were imported, counted and reported by an
    earlier, interrupted run; they are only read again to know where their
    emails first appeared, for the duplicate check.
    """
    with open_import_file(job) as stream:
        codec, job.encoding, lines = scan_encoding(stream)
    definitions = {definition.key: definition for definition in custom_fields.definitions()}
    job.total_rows = max(job.processed_rows, lines - 1)  # an estimate (blank and multi-line rows) until the end
    job.save(update_fields=["encoding", "total_rows"])
    first_lines = FirstLines()
    writers = OrderedWriters.for_job(job)
    with (
        CleanedBatches(job, codec, definitions, skip=job.processed_rows) as cleaned,
        writers or contextlib.nullcontext(),
    ):
        for item in cleaned:
            if item[0] == "header":
                positions = item[1]
            elif item[0] == "replay":
                mark_repeats(item[1], first_lines)
            elif writers is None:
                import_batch(job, item[1], mark_repeats(item[2], first_lines), positions)
            else:
                writers.write(good_rows(job, item[1], mark_repeats(item[2], first_lines), positions))
    job.total_rows = job.processed_rows
    job.save(update_fields=["total_rows"])


def good_rows(job, rows_read, checked, positions):
    """The batch's good rows; its bad ones go to the job's report and the job's row count moves on."""
    batch = []
    for line, cells, values, reason, params in checked:
        if values is None:
            record_error(job, line, reason, params, cells, positions)
        else:
            batch.append({**values, "line": line})
    job.processed_rows += rows_read
    job.total_rows = max(job.total_rows, job.processed_rows)
    return batch


IMPORT_WRITERS = 2


class OrderedWriters(contextlib.AbstractContextManager):
    """Batches written on IMPORT_WRITERS connections at once, committed in the file's order.

    One connection spends most of a batch waiting for PostgreSQL (its index
    upkeep: ~45 µs of CPU a row, one core), so a second connection puts the
    other core to work. Each batch's transaction inserts its clients (and
    list memberships) at once, then waits for the batch before it to end,
    and only then updates what every batch shares (the site's recipient
    count, the job's progress) and commits. So the committed batches are
    always a prefix of the file, as with one connection: a killed worker
    resumes after the last of them, and a failed batch lets none after it
    commit. The rows before that point never meet: the duplicate check (on
    the caller's connection) leaves each email in one batch only.

    The wait is on the batch before's PostgreSQL advisory lock, held by its
    transaction, so if a batch ever needed a row another one holds,
    PostgreSQL would see the cycle and fail the import (no silent hang).

    Not used (None: the caller writes batch after batch itself) under a
    client limit, whose room must be counted one batch after the other, or
    inside an outer transaction, whose rows other connections cannot see.
    """

    WAIT_SECONDS = 600  # for the batch before to start: it takes milliseconds

    @classmethod
    def for_job(cls, job):
        from tenant_apps.delivery.scheduling import current_workspace
        from tenant_apps.senders.quotas import client_limit

        workspace = current_workspace()
        if IMPORT_WRITERS < 2 or connection.in_atomic_block or client_limit(workspace):
            return None
        return cls(job, workspace)

    def __init__(self, job, workspace):
        self.job, self.workspace = job, workspace
        self.pool = ThreadPoolExecutor(max_workers=IMPORT_WRITERS, thread_name_prefix="import-writer")
        self.in_flight = threading.Semaphore(IMPORT_WRITERS)  # memory stays flat
        self.lock_space = int(hashlib.sha256(f"import:{connection.schema_name}:{job.pk}".encode()).hexdigest()[:7], 16)
        self.started: dict[int, threading.Event] = {}
        self.counts = {-1: (job.created_count, job.existing_count)}  # after each batch, -1: before the first
        self.failure, self.failed_at = None, None  # the earliest failed batch's error and number
        self.lock = threading.Lock()
        self.submitted = 0
        self.closing = threading.Barrier(IMPORT_WRITERS)

    def write(self, batch):
        """Hand the batch (good rows) to a writer; the job's error report and row count are as of its end."""
        self.in_flight.acquire()
        if self.failure is not None:
            self.in_flight.release()
            raise self.failure
        progress = {
            "processed_rows": self.job.processed_rows,
            "total_rows": self.job.total_rows,
            "error_count": self.job.error_count,
            "errors": list(self.job.errors),
        }
        self.started[self.submitted] = threading.Event()
        self.pool.submit(self._write, self.submitted, batch, progress)
        self.submitted += 1

    def __exit__(self, kind, error, traceback):
        for _writer in range(IMPORT_WRITERS):
            self.pool.submit(self._close_connection)
        self.pool.shutdown(wait=True)
        last = self.counts.get(self.submitted - 1) if self.failure is None else None
        if last is not None:
            self.job.created_count, self.job.existing_count = last
        if error is None and self.failure is not None:
            raise self.failure

    def _failed(self, number, error):
        """Remember the earliest failed batch: every batch after it rolls back; those before still commit."""
        with self.lock:
            if self.failed_at is None or number < self.failed_at:
                self.failed_at, self.failure = number, error

    def _close_connection(self):
        """Close this writer thread's connection (kept open from batch to batch); every thread runs one."""
        with contextlib.suppress(threading.BrokenBarrierError):
            self.closing.wait(timeout=60)  # holds each thread until all have taken one
        connection.close()

    def _write(self, number, batch, progress):
        try:
            connection.set_tenant(self.workspace)
            with transaction.atomic():
                try:
                    self._write_in_transaction(number, batch, progress)
                except BaseException as error:
                    self._failed(number, error)  # before the rollback lets the next batch on
                    raise
        except BaseException as error:
            self._failed(number, error)
        finally:
            self.started[number].set()  # a batch that failed before its lock lets the next one see it
            self.in_flight.release()

    def _write_in_transaction(self, number, batch, progress):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")  # as import_batch, for the same reason
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # nothing left to fail at COMMIT
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [self.lock_space, number])
        self.started[number].set()
        new_emails = []
        created = insert_new_clients(batch, new_emails=new_emails)
        if self.job.target_list_id:
            lists.subscribe_emails(self.job.target_list_id, [row["email"] for row in batch])
        if number > 0:
            if not self.started[number - 1].wait(self.WAIT_SECONDS):
                raise RuntimeError(f"import batch {number - 1} did not start")
            with connection.cursor() as cursor:  # until the batch before has ended
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [self.lock_space, number - 1])
        if self.failed_at is not None and self.failed_at < number:
            raise ImportAborted from self.failure
        before = self.counts[number - 1]
        counts = (before[0] + created, before[1] + len(batch) - created)
        counters.recipients_added(new_emails)
        ImportJob.objects.filter(pk=self.job.pk).update(
            created_count=counts[0], existing_count=counts[1], heartbeat=timezone.now(), **progress
        )
        self.counts[number] = counts


class ImportAborted(Exception):
    """A batch before this one failed: this one is rolled back."""


def import_batch(job, rows_read, checked, positions):
    """Import one batch's good rows and record its bad ones; the rows and the job's counts commit together."""
    batch = good_rows(job, rows_read, checked, positions)
    with transaction.atomic():  # the rows and their counts are saved together, or neither
        with connection.cursor() as cursor:
            # A crash may lose the last batches' commits, but each loses its rows and its
            # progress together: the resumed import writes them again. Not waiting for
            # the WAL flush saves a disk sync per batch.
            cursor.execute("SET LOCAL synchronous_commit = off")
        created, stopped_at = insert_within_client_limit(batch)
        if job.target_list_id:
            # New and existing clients of the batch join the list; one past the limit was not inserted.
            lists.subscribe_emails(job.target_list_id, [row["email"] for row in batch])
        job.created_count += created
        job.existing_count += len(batch) - created
        job.heartbeat = timezone.now()
        job.save(
            update_fields=[
                "processed_rows",
                "total_rows",
                "created_count",
                "existing_count",
                "error_count",
                "errors",
                "heartbeat",
            ]
        )
    if stopped_at is not None:
        raise ImportRefused(MESSAGE_CLIENT_LIMIT, max=stopped_at[0], line=stopped_at[1])


def insert_within_client_limit(batch):
    """Insert a batch without passing the workspace's client limit.

    Returns (created, None), or (created, (limit, first line not imported))
    when the limit was reached; rows of existing emails never count.
    """
    from tenant_apps.senders.quotas import client_limit, client_room, workspace_here

    workspace = workspace_here()
    # Counting the clients reads the whole table: only when there is a limit to check.
    room = client_room(workspace) if client_limit(workspace) else None
    if room is None or room >= len(batch):
        return insert_new_clients(batch), None
    created = 0
    while batch and room > 0:
        chunk, batch = batch[:room], batch[room:]
        inserted = insert_new_clients(chunk)
        created, room = created + inserted, room - inserted
    return created, ((client_limit(workspace), batch[0]["line"]) if batch else None)


def clean_rows(rows, positions, header_length, definitions=None):
    """[(line, cells, values, reason, params)] of clean_row's answers (no database: see CleanedBatches)."""
    return [(line, cells, *clean_row(cells, positions, header_length, definitions)) for line, cells in rows]


def mark_repeats(checked, first_lines):
    """clean_rows's answers, a row repeating an email of an earlier line of the file turned into an error."""
    first_line_of = first_lines.register(
        [(values["email"].lower(), line) for line, _cells, values, _reason, _params in checked if values is not None]
    )
    if not first_line_of:
        return checked
    return [
        (line, cells, None, REASON_DUPLICATE, {"line": first_line_of[line]})
        if values is not None and line in first_line_of
        else (line, cells, values, reason, params)
        for line, cells, values, reason, params in checked
    ]


def check_rows(rows, positions, header_length, first_lines, definitions=None):
    """[(line, cells, values, reason, params)]: values for a good row not seen earlier in the file."""
    return mark_repeats(clean_rows(rows, positions, header_length, definitions), first_lines)


def finish(job, status, failure=None):
    job.status, job.finished_at, job.failure = status, timezone.now(), failure or []
    # The report is what is kept; the file may hold a million clients.
    if job.file_oid is not None:
        importfile.delete(job.file_oid)
    job.data, job.file_oid, job.file_size = b"", None, 0
    job.save(update_fields=["status", "finished_at", "failure", "encoding", "data", "file_oid", "file_size"])


def record_error(job, line, reason, params, cells, positions):
    job.error_count += 1
    if len(job.errors) < MAX_REPORTED_ERRORS:
        index = positions.get("email")
        value = cells[index] if index is not None and index < len(cells) else ""
        job.errors.append([line, reason, params, value.replace("\x00", "")[:200]])


def translate(message, params):
    return _(message) % params if params else _(message)


def failure_message(job):
    return translate(*job.failure) if job.failure else ""


def error_report(job):
    """[(line, translated reason, value)] for showing."""
    return [(line, translate(reason, params), value) for line, reason, params, value in job.errors]
