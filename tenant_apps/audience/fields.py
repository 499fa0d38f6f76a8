"""Custom fields: their definitions and the validation of values by type.

Values are stored in `Client.fields` (JSONB) as JSON natives: text and
choices as strings, numbers as numbers, dates as "YYYY-MM-DD", yes/no as
booleans. An empty value removes the key. Every write path (the client form,
the CSV import) goes through `clean_value`, so a stored value always matches
its field's type. Runs inside the current workspace schema.
"""

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils.translation import gettext, gettext_noop

from .models import CustomField

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_TEXT = 500
MAX_CHOICES = 100
TRUE_WORDS = {"yes", "true", "1", "y", "да", "д"}
FALSE_WORDS = {"no", "false", "0", "n", "нет", "н"}

# Stored untranslated (the import report keeps them), translated when shown.
# Each names the field, so an import report line says which column is wrong.
ERROR_TOO_LONG = gettext_noop("“%(field)s” is longer than %(max)s characters")
ERROR_NUMBER = gettext_noop("“%(field)s” is not a number")
ERROR_DATE = gettext_noop("“%(field)s” is not a date (YYYY-MM-DD or DD.MM.YYYY)")
ERROR_BOOLEAN = gettext_noop("“%(field)s” is not yes or no")
ERROR_CHOICE = gettext_noop("“%(field)s” is not one of: %(choices)s")
ERROR_NUL = gettext_noop("“%(field)s” contains a NUL character")
# Import columns of custom fields are named "fields.<key>" among email, full_name, comment.
FIELD_COLUMN = "fields."


class InvalidValue(Exception):
    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message, self.params = message, params

    def named(self, field: CustomField) -> "InvalidValue":
        self.params["field"] = field.label
        return self


def definitions() -> list[CustomField]:
    return list(CustomField.objects.order_by("label"))


def field_keys() -> list[str]:
    return list(CustomField.objects.order_by("key").values_list("key", flat=True))


def clean_value(field: CustomField, raw) -> object | None:
    """The JSON value to store for `raw` (a string from a form or CSV, or a native), None when empty.

    Raises InvalidValue with an untranslated message.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        return _clean(field, raw)
    except InvalidValue as error:
        raise error.named(field) from None


def _clean(field, raw):
    if isinstance(raw, str):
        raw = raw.strip()
        if "\x00" in raw:
            raise InvalidValue(ERROR_NUL)
    cleaner = {
        CustomField.Type.TEXT: clean_text,
        CustomField.Type.NUMBER: clean_number,
        CustomField.Type.DATE: clean_date,
        CustomField.Type.BOOLEAN: clean_boolean,
        CustomField.Type.CHOICE: clean_choice,
    }[field.type]
    return cleaner(field, raw)


def clean_text(field, raw):
    value = str(raw)
    if len(value) > MAX_TEXT:
        raise InvalidValue(ERROR_TOO_LONG, max=MAX_TEXT)
    return value


def clean_number(field, raw):
    if isinstance(raw, bool):
        raise InvalidValue(ERROR_NUMBER)
    if isinstance(raw, int | float | Decimal):
        number = Decimal(str(raw))
    else:
        try:
            number = Decimal(str(raw).replace(" ", "").replace("\u00a0", "").replace(",", "."))
        except InvalidOperation:
            raise InvalidValue(ERROR_NUMBER) from None
    if not number.is_finite() or abs(number) >= Decimal("1e15"):
        raise InvalidValue(ERROR_NUMBER)
    # Whole numbers stay integers in JSON; others are stored as floats.
    return int(number) if number == number.to_integral_value() else float(number)


def clean_date(field, raw):
    if isinstance(raw, date):
        return raw.isoformat()
    text = str(raw)
    match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
    try:
        parsed = date(int(match[3]), int(match[2]), int(match[1])) if match else date.fromisoformat(text)
    except ValueError:
        raise InvalidValue(ERROR_DATE) from None
    return parsed.isoformat()


def clean_boolean(field, raw):
    if isinstance(raw, bool):
        return raw
    word = str(raw).lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InvalidValue(ERROR_BOOLEAN)


def clean_choice(field, raw):
    value = str(raw)
    if value not in field.choices:
        raise InvalidValue(ERROR_CHOICE, choices=", ".join(field.choices))
    return value


def set_values(current: dict, changes: dict[str, object | None]) -> dict:
    """`current` with cleaned `changes` applied: None removes a key."""
    merged = dict(current or {})
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def display(value) -> str:
    """A stored value as text in a message or a page."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value).strftime("%d.%m.%Y")
    return str(value)


def csv_value(value) -> str:
    """A stored value as a CSV cell that imports back to the same value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def parse_choices(text: str) -> list[str]:
    """One choice per line, stripped, empty lines and repeats dropped, order kept."""
    seen = []
    for line in (text or "").splitlines():
        line = line.strip()
        if line and line not in seen:
            seen.append(line)
    return seen


def values_in_use(key: str, values: list[str]) -> bool:
    """Whether any client has one of these values in the field (containment, served by the GIN index)."""
    from .models import Client

    return any(Client.objects.filter(fields__contains={key: value}).exists() for value in values)


@transaction.atomic
def delete_field(field: CustomField) -> None:
    """Delete a definition and its values from every client (one UPDATE served by the GIN index)."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audience_client SET fields = fields - %s WHERE fields ? %s", [field.key, field.key])
    field.delete()
