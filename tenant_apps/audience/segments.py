"""Segments: saved filters over the workspace's clients, validated, then
compiled to one parameterised SQL condition over `audience_client c`.

A definition is JSON, with exactly one level of nesting:

    {"match": "all" | "any", "conditions": [condition | group, ...]}
    group     = {"match": "all" | "any", "conditions": [condition, ...]}
    condition = {"kind": "field", "field": <custom field key>, "op": ..., "value": ...}
              | {"kind": "email", "op": "equals" | "contains" | "not_contains", "value": text}
              | {"kind": "list", "list": <list id>,
                 "op": "subscribed" | "not_subscribed" | "unconfirmed" | "unsubscribed"}
              | {"kind": "subscribed_at", "list": <list id>, "op": "before" | "after", "value": "YYYY-MM-DD"}
              | {"kind": "added", "op": "before" | "after", "value": "YYYY-MM-DD"}
              | {"kind": "subscribed_at" | "added" | "field" (a date field), ...,
                 "op": "within_last_days" | "more_than_days_ago", "value": N (whole days, 1..3650)}
              | {"kind": "history", "op": "received" | "not_received" | "failed" | "never_sent", "mailing": <id>}

The SQL text is only ever chosen from the fixed fragments below by the
operator's name; every value, field key and id is a parameter. Typed
comparisons are guarded (a stored value of another type compares as NULL,
never as an error), so a field whose type changed cannot break a count or a
run. A condition naming a field that no longer exists matches nobody.

Relative dates ("within the last N days", "more than N days ago") keep only N
in the definition: the day they count from is "today" in the workspace's time
zone, computed by PostgreSQL from now() when the query runs, so a saved segment
stays relative and a run resolves it as of its own start. They count whole
days, like before/after: "within the last 7 days" = from the first moment of
the day 7 days before today (a date field: a date from today-7 to today);
"more than 7 days ago" = before that moment (a date field: before today-7).

Everything here runs inside the current workspace schema: a segment only
ever sees the clients of its own workspace.
"""

import json
import re
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import fields as custom_fields
from . import lists
from .models import Client, CustomField, MailingList, Segment

MAX_CONDITIONS = 50
PREVIEW_SIZE = 10
T = CustomField.Type

# Operators a custom field of each type accepts, and whether they take a value.
FIELD_OPERATORS = {
    T.TEXT: ("equals", "not_equals", "contains", "not_contains", "is_empty", "is_not_empty"),
    T.NUMBER: ("equals", "not_equals", "greater", "less", "is_empty", "is_not_empty"),
    T.DATE: ("equals", "before", "after", "within_last_days", "more_than_days_ago", "is_empty", "is_not_empty"),
    T.BOOLEAN: ("is_true", "is_false", "is_empty"),
    T.CHOICE: ("equals", "not_equals", "is_empty", "is_not_empty"),
}
NO_VALUE = {"is_empty", "is_not_empty", "is_true", "is_false"}
EMAIL_OPERATORS = ("equals", "contains", "not_contains")
LIST_OPERATORS = ("subscribed", "not_subscribed", "unconfirmed", "unsubscribed")
RELATIVE_OPERATORS = ("within_last_days", "more_than_days_ago")
DATE_OPERATORS = ("before", "after", *RELATIVE_OPERATORS)
MIN_DAYS, MAX_DAYS = 1, 3650
HISTORY_OPERATORS = ("received", "not_received", "failed", "never_sent")
HISTORY_NEEDS_MAILING = {"received", "not_received"}
KINDS = ("field", "email", "list", "subscribed_at", "added", "history")
KIND_OPERATORS = {
    "email": EMAIL_OPERATORS,
    "list": LIST_OPERATORS,
    "subscribed_at": DATE_OPERATORS,
    "added": DATE_OPERATORS,
    "history": HISTORY_OPERATORS,
}
KIND_LABELS = {
    "email": gettext_lazy("Email"),
    "list": gettext_lazy("List"),
    "subscribed_at": gettext_lazy("Subscribed to a list"),
    "added": gettext_lazy("Added to the workspace"),
    "history": gettext_lazy("Mailings"),
}
OPERATOR_LABELS = {
    "equals": gettext_lazy("is"),
    "not_equals": gettext_lazy("is not"),
    "contains": gettext_lazy("contains"),
    "not_contains": gettext_lazy("does not contain"),
    "is_empty": gettext_lazy("is empty"),
    "is_not_empty": gettext_lazy("is not empty"),
    "greater": gettext_lazy("is greater than"),
    "less": gettext_lazy("is less than"),
    "before": gettext_lazy("before"),
    "after": gettext_lazy("after"),
    "within_last_days": gettext_lazy("within the last"),
    "more_than_days_ago": gettext_lazy("more than"),
    "is_true": gettext_lazy("is yes"),
    "is_false": gettext_lazy("is no"),
    "subscribed": gettext_lazy("subscribed to"),
    "not_subscribed": gettext_lazy("not subscribed to"),
    "unconfirmed": gettext_lazy("unconfirmed on"),
    "unsubscribed": gettext_lazy("unsubscribed from"),
    "received": gettext_lazy("received the mailing"),
    "not_received": gettext_lazy("did not receive the mailing"),
    "failed": gettext_lazy("a delivery failed or bounced"),
    "never_sent": gettext_lazy("never received anything"),
}
# What the builder writes after the number of a relative date operator.
DAYS_UNITS = {
    "within_last_days": gettext_lazy("days"),
    "more_than_days_ago": gettext_lazy("days ago"),
}

# --- the fixed SQL fragments; {k}, {v}, {l}, {m} are generated parameter placeholders -----

COMPARISON = {"greater": ">", "less": "<", "before": "<", "after": ">"}
FIELD_SQL = {
    # Containment is served by the GIN index on c.fields.
    "equals": "c.fields @> {v}::jsonb",
    "not_equals": "NOT c.fields @> {v}::jsonb",
    "is_true": "c.fields @> {v}::jsonb",
    "is_false": "c.fields @> {v}::jsonb",
    # A plain substring search: no wildcards to escape, and ~40% cheaper per row than ILIKE on Cyrillic.
    "contains": "strpos(lower(c.fields ->> {k}), lower({v})) > 0",
    "not_contains": "strpos(lower(COALESCE(c.fields ->> {k}, '')), lower({v})) = 0",
    "is_empty": "NOT (c.fields ? {k})",
    "is_not_empty": "(c.fields ? {k})",
    # Comparisons are SQL/JSON path predicates in silent mode: a stored value of another type
    # is "unknown" (no match), never an error; dates are ISO strings, which compare as dates.
    # 2-3x cheaper per row than extracting, type-checking and casting in SQL (measured at 1M).
    "greater": "jsonb_path_match(c.fields, {p}::jsonpath, {v}::jsonb, true)",
    "less": "jsonb_path_match(c.fields, {p}::jsonpath, {v}::jsonb, true)",
    "before": "jsonb_path_match(c.fields, {p}::jsonpath, {v}::jsonb, true)",
    "after": "jsonb_path_match(c.fields, {p}::jsonpath, {v}::jsonb, true)",
    # Relative: the path compares with $from (today-N) and $to (today), both ISO dates made by
    # PostgreSQL at query time in the workspace's zone {z}. The sub-SELECT is evaluated once per
    # query (an InitPlan), not once per row.
    "within_last_days": "jsonb_path_match(c.fields, {p}::jsonpath, (SELECT {days}), true)",
    "more_than_days_ago": "jsonb_path_match(c.fields, {p}::jsonpath, (SELECT {days}), true)",
}
TODAY = "(now() AT TIME ZONE {z})::date"
RELATIVE_DAYS = (
    "jsonb_build_object('from', to_char(" + TODAY + " - {n}::integer, 'YYYY-MM-DD'),"
    " 'to', to_char(" + TODAY + ", 'YYYY-MM-DD'))"
)
RELATIVE_PATHS = {
    "within_last_days": '$."{key}" >= $from && $."{key}" <= $to',
    "more_than_days_ago": '$."{key}" < $from',
}
# The first moment of the day N days before today, in the workspace's zone {z} (once per query).
DAY_START = "(SELECT ((" + TODAY + " - {n}::integer)::timestamp AT TIME ZONE {z}))"
# ILIKE so that the trigram index on the email serves "contains".
EMAIL_SQL = {
    "equals": "lower(c.email) = lower({v})",
    "contains": "c.email ILIKE {v}",
    "not_contains": "c.email NOT ILIKE {v}",
}
MEMBERS = "c.id IN (SELECT m.client_id FROM audience_membership m WHERE m.mailing_list_id = {l} AND m.status = {v}"
LIST_SQL = {
    "subscribed": MEMBERS + ")",
    "not_subscribed": "NOT " + MEMBERS + ")",
    "unconfirmed": MEMBERS + ")",
    "unsubscribed": MEMBERS + ")",
}
SUBSCRIBED_AT_SQL = {
    "before": MEMBERS + " AND m.changed_at < {t})",
    "after": MEMBERS + " AND m.changed_at >= {t})",
    "within_last_days": MEMBERS + " AND m.changed_at >= " + DAY_START + ")",
    "more_than_days_ago": MEMBERS + " AND m.changed_at < " + DAY_START + ")",
}
ADDED_SQL = {
    "before": "c.created < {t}",
    "after": "c.created >= {t}",
    "within_last_days": "c.created >= " + DAY_START,
    "more_than_days_ago": "c.created < " + DAY_START,
}
# Deliveries keep their row when the client is deleted (client_id NULL): NOT IN needs them left out.
DELIVERED = "SELECT d.client_id FROM delivery_delivery d WHERE d.client_id IS NOT NULL AND d.status = ANY({s})"
OF_MAILING = " AND d.run_id IN (SELECT r.id FROM delivery_run r WHERE r.mailing_id = {m})"
HISTORY_SQL = {
    "received": "c.id IN (" + DELIVERED + OF_MAILING + ")",
    "not_received": "NOT c.id IN (" + DELIVERED + OF_MAILING + ")",
    "failed": "c.id IN (" + DELIVERED + ")",
    "failed_mailing": "c.id IN (" + DELIVERED + OF_MAILING + ")",
    "never_sent": "NOT c.id IN (" + DELIVERED + ")",
}
# Received = accepted and not bounced (a complaint means it arrived); failed = refused or bounced.
HISTORY_STATUSES = {
    "received": ["sent", "complained"],
    "not_received": ["sent", "complained"],
    "failed": ["failed", "bounced"],
    "never_sent": ["sent", "complained", "bounced"],
}


class InvalidDefinition(Exception):
    """A definition that cannot be saved; `messages` say why, translated."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


# --- validation --------------------------------------------------------------------------------


def validate_definition(data) -> dict:
    """The cleaned definition (values parsed by type), or InvalidDefinition with every problem found."""
    errors: list[str] = []
    known = {field.key: field for field in CustomField.objects.all()}
    if not isinstance(data, dict) or not isinstance(data.get("conditions"), list):
        raise InvalidDefinition([_("The conditions are not in the expected form.")])
    cleaned = _clean_group(data, known, errors, nested=False)
    if not errors and _count_conditions(cleaned) == 0:
        errors.append(_("Add at least one condition."))
    if _count_conditions(cleaned) > MAX_CONDITIONS:
        errors.append(_("A segment may have at most %(max)s conditions.") % {"max": MAX_CONDITIONS})
    if errors:
        raise InvalidDefinition(errors)
    return cleaned


def _count_conditions(group: dict) -> int:
    return sum(_count_conditions(item) if "match" in item else 1 for item in group["conditions"])


def _clean_group(data: dict, known: dict, errors: list, nested: bool) -> dict:
    match = data.get("match")
    if match not in ("all", "any"):
        errors.append(_("Choose whether all or any of the conditions must hold."))
    conditions = []
    for item in data.get("conditions") or []:
        if isinstance(item, dict) and "match" in item:
            if nested:
                errors.append(_("Groups cannot contain groups: only one level of nesting."))
                continue
            if not isinstance(item.get("conditions"), list):
                errors.append(_("The conditions are not in the expected form."))
                continue
            group = _clean_group(item, known, errors, nested=True)
            if not group["conditions"]:
                errors.append(_("A group has no conditions."))
            conditions.append(group)
        else:
            condition = _clean_condition(item, known, errors)
            if condition is not None:
                conditions.append(condition)
    return {"match": match, "conditions": conditions}


def _clean_condition(item, known: dict, errors: list) -> dict | None:
    if not isinstance(item, dict) or item.get("kind") not in KINDS:
        errors.append(_("A condition is not in the expected form."))
        return None
    try:
        return CLEANERS[item["kind"]](item, known)
    except ConditionError as error:
        errors.append(str(error))
        return None


class ConditionError(Exception):
    pass


def _operator(item, allowed) -> str:
    op = item.get("op")
    if op not in allowed:
        raise ConditionError(_("Choose an operator for every condition."))
    return op


def _text(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConditionError(_("Enter a value for “%(what)s”.") % {"what": what})
    if "\x00" in value:
        raise ConditionError(_("The value for “%(what)s” contains a NUL character.") % {"what": what})
    if len(value) > custom_fields.MAX_TEXT:
        raise ConditionError(
            _("The value for “%(what)s” is longer than %(max)s characters.")
            % {"what": what, "max": custom_fields.MAX_TEXT}
        )
    return value.strip()


def _date(value, what: str) -> str:
    try:
        return custom_fields.clean_date(None, _text(value, what))
    except custom_fields.InvalidValue:
        raise ConditionError(_("“%(what)s” needs a date (YYYY-MM-DD or DD.MM.YYYY).") % {"what": what}) from None


def _days(value, what: str) -> int:
    """A whole number of days in MIN_DAYS..MAX_DAYS: an int, or a string of digits from the form."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_DAYS <= value <= MAX_DAYS:
        raise ConditionError(
            _("“%(what)s” needs a whole number of days from %(min)s to %(max)s.")
            % {"what": what, "min": MIN_DAYS, "max": MAX_DAYS}
        )
    return value


def _date_or_days(op: str, value, what: str):
    return _days(value, what) if op in RELATIVE_OPERATORS else _date(value, what)


def _existing_id(value, model, missing: str) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: JSON's 1e400 is an infinite float
        pk = None
    if pk is None or not model.objects.filter(pk=pk).exists():
        raise ConditionError(missing)
    return pk


def _clean_field(item, known):
    field = known.get(item.get("field"))
    if field is None:
        raise ConditionError(_("A condition names a field that does not exist."))
    op = _operator(item, FIELD_OPERATORS[field.type])
    cleaned = {"kind": "field", "field": field.key, "op": op}
    if op in NO_VALUE:
        return cleaned
    raw = item.get("value")
    if isinstance(raw, str) and "\x00" in raw:
        raise ConditionError(_("The value for “%(what)s” contains a NUL character.") % {"what": field.label})
    if op in ("contains", "not_contains"):
        cleaned["value"] = _text(raw, field.label)
        return cleaned
    if op in RELATIVE_OPERATORS:
        cleaned["value"] = _days(raw, field.label)
        return cleaned
    try:
        value = custom_fields.clean_value(field, raw)
    except custom_fields.InvalidValue as error:
        raise ConditionError(_(error.message) % error.params) from None
    if value is None:
        raise ConditionError(_("Enter a value for “%(what)s”.") % {"what": field.label})
    cleaned["value"] = value
    return cleaned


def _clean_email(item, known):
    op = _operator(item, EMAIL_OPERATORS)
    return {"kind": "email", "op": op, "value": _text(item.get("value"), _("email"))}


def _clean_list(item, known):
    op = _operator(item, LIST_OPERATORS)
    return {
        "kind": "list",
        "op": op,
        "list": _existing_id(item.get("list"), MailingList, _("Choose the list of every list condition.")),
    }


def _clean_subscribed_at(item, known):
    op = _operator(item, DATE_OPERATORS)
    list_id = _existing_id(item.get("list"), MailingList, _("Choose the list of every list condition."))
    return {
        "kind": "subscribed_at",
        "op": op,
        "list": list_id,
        "value": _date_or_days(op, item.get("value"), _("subscribed to a list")),
    }


def _clean_added(item, known):
    op = _operator(item, DATE_OPERATORS)
    return {"kind": "added", "op": op, "value": _date_or_days(op, item.get("value"), _("added to the workspace"))}


def _clean_history(item, known):
    from tenant_apps.campaigns.models import Mailing

    op = _operator(item, HISTORY_OPERATORS)
    cleaned = {"kind": "history", "op": op}
    if op in HISTORY_NEEDS_MAILING or (op == "failed" and item.get("mailing") not in (None, "")):
        cleaned["mailing"] = _existing_id(
            item.get("mailing"), Mailing, _("Choose the mailing of every mailing condition.")
        )
    return cleaned


CLEANERS = {
    "field": _clean_field,
    "email": _clean_email,
    "list": _clean_list,
    "subscribed_at": _clean_subscribed_at,
    "added": _clean_added,
    "history": _clean_history,
}


# --- compiling ---------------------------------------------------------------------------------


def like_pattern(text: str) -> str:
    """`text` as an ILIKE pattern matching it anywhere, its own %, _ and \\ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def comparison_path(key: str, op: str) -> str:
    """The SQL/JSON path comparing field `key` with the variable $v (the value travels in the variables).

    The path itself is a parameter too; keys are letters, digits and _ (checked when a field
    is defined, and here again because the key is written into the path).
    """
    if not custom_fields.KEY_RE.fullmatch(key):
        raise InvalidDefinition([_("A condition names a field that does not exist.")])
    return f'$."{key}" {COMPARISON[op]} $v'


def relative_path(key: str, op: str) -> str:
    """The SQL/JSON path comparing field `key` with $from (and $to) of a relative date operator."""
    if not custom_fields.KEY_RE.fullmatch(key):
        raise InvalidDefinition([_("A condition names a field that does not exist.")])
    return RELATIVE_PATHS[op].format(key=key)


class _Compiler:
    """Collects parameters under generated names (`prefix` keeps several segments' apart)."""

    def __init__(self, prefix: str):
        self.prefix, self.params = prefix, {}
        self.fields = {field.key: field for field in CustomField.objects.all()}
        self.tz = workspace_timezone()
        self._zone = None

    def param(self, value) -> str:
        if isinstance(value, str) and "\x00" in value:
            raise InvalidDefinition([_("A value contains a NUL character.")])
        name = f"{self.prefix}{len(self.params)}"
        self.params[name] = value
        return f"%({name})s"

    def group(self, group: dict) -> str:
        parts = [self.group(item) if "match" in item else self.condition(item) for item in group.get("conditions", [])]
        if not parts:
            return "TRUE" if group.get("match") == "all" else "FALSE"
        joiner = " AND " if group.get("match") == "all" else " OR "
        return "(" + joiner.join(f"({part})" for part in parts) + ")"

    def condition(self, item: dict) -> str:
        return getattr(self, "c_" + item["kind"])(item)

    def c_field(self, item):
        field, op = self.fields.get(item["field"]), item["op"]
        if field is None or op not in FIELD_OPERATORS[field.type]:
            return "FALSE"  # the field was deleted or changed type since the segment was saved
        if op in ("equals", "not_equals"):
            value = json.dumps({field.key: item["value"]}, ensure_ascii=False)
        elif op in ("is_true", "is_false"):
            value = json.dumps({field.key: op == "is_true"})
        elif op in ("contains", "not_contains"):
            value = item["value"]
        elif op in RELATIVE_OPERATORS:
            days = RELATIVE_DAYS.format(z=self.zone(), n=self.param(int(item["value"])))
            return FIELD_SQL[op].format(p=self.param(relative_path(field.key, op)), days=days)
        elif op in COMPARISON:
            path, variables = comparison_path(field.key, op), json.dumps({"v": item["value"]})
            return FIELD_SQL[op].format(p=self.param(path), v=self.param(variables))
        else:
            value = item.get("value")
        placeholders = {"k": self.param(field.key)}
        if op not in ("is_empty", "is_not_empty"):
            placeholders["v"] = self.param(value)
        return FIELD_SQL[op].format(**placeholders)

    def c_email(self, item):
        op = item["op"]
        value = item["value"] if op == "equals" else like_pattern(item["value"])
        return EMAIL_SQL[op].format(v=self.param(value))

    def c_list(self, item):
        op = item["op"]
        status = "subscribed" if op in ("subscribed", "not_subscribed") else op
        return LIST_SQL[op].format(l=self.param(int(item["list"])), v=self.param(status))

    def c_subscribed_at(self, item):
        if item["op"] in RELATIVE_OPERATORS:
            return SUBSCRIBED_AT_SQL[item["op"]].format(
                l=self.param(int(item["list"])), v=self.param("subscribed"), **self.days_ago(item)
            )
        moment = self.day_start(item["value"], item["op"])
        return SUBSCRIBED_AT_SQL[item["op"]].format(
            l=self.param(int(item["list"])), v=self.param("subscribed"), t=self.param(moment)
        )

    def c_added(self, item):
        if item["op"] in RELATIVE_OPERATORS:
            return ADDED_SQL[item["op"]].format(**self.days_ago(item))
        return ADDED_SQL[item["op"]].format(t=self.param(self.day_start(item["value"], item["op"])))

    def c_history(self, item):
        op = item["op"]
        statuses = self.param(HISTORY_STATUSES[op])
        if op == "failed" and item.get("mailing"):
            return HISTORY_SQL["failed_mailing"].format(s=statuses, m=self.param(int(item["mailing"])))
        mailing = self.param(int(item["mailing"])) if op in HISTORY_NEEDS_MAILING else ""
        return HISTORY_SQL[op].format(s=statuses, m=mailing)

    def zone(self) -> str:
        """The workspace's zone name as a parameter (one per query, however many conditions use it)."""
        if self._zone is None:
            self._zone = self.param(str(self.tz))
        return self._zone

    def days_ago(self, item: dict) -> dict:
        """Placeholders of DAY_START: the zone and the number of days."""
        return {"z": self.zone(), "n": self.param(int(item["value"]))}

    def day_start(self, value: str, op: str) -> datetime:
        """Before a day = before its first moment; after a day = from the next day's first moment."""
        day = date.fromisoformat(value) + (timedelta(days=1) if op == "after" else timedelta())
        return datetime.combine(day, time.min, tzinfo=self.tz)


def workspace_timezone():
    """The time zone the workspace's dates are meant in."""
    try:
        return zoneinfo.ZoneInfo(getattr(connection.tenant, "time_zone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_current_timezone()


def compile_definition(definition: dict, prefix: str = "seg") -> tuple[str, dict]:
    """(SQL condition over `audience_client c`, its named parameters) for a validated definition."""
    compiler = _Compiler(prefix)
    return compiler.group(definition), compiler.params


# --- counting, previewing, saving ------------------------------------------------------------


@dataclass
class SegmentCount:
    matching: int
    subscribed: int


def segment_count(segment_or_definition: Segment | dict) -> SegmentCount:
    """How many clients match, and how many of them are subscribed (one query)."""
    where, params = compile_definition(_definition(segment_or_definition))
    sql = f"SELECT count(*), count(*) FILTER (WHERE c.is_subscribed) FROM audience_client c WHERE {where}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        matching, subscribed = cursor.fetchone()
    return SegmentCount(matching, subscribed)


def segment_preview(segment_or_definition: Segment | dict, limit: int = PREVIEW_SIZE) -> list[Client]:
    """The first `limit` matching clients, by id (the newest are at the end)."""
    where, params = compile_definition(_definition(segment_or_definition))
    params["limit"] = limit
    sql = f"SELECT c.id FROM audience_client c WHERE {where} ORDER BY c.id LIMIT %(limit)s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    return sorted(Client.objects.filter(pk__in=ids), key=lambda client: ids.index(client.pk))


NAMED_PARAMETER = re.compile(r"%\((\w+)\)s")


def filter_by_segment(clients: QuerySet, segment: Segment) -> QuerySet:
    """The clients of `clients` that match a saved segment (its compiled condition as a subquery).

    The ORM wants positional parameters: the compiled text's named placeholders
    become %s in the order they appear, their values in that order. The text is
    still only the fixed fragments; nothing from the request is written into it.
    """
    where, named = compile_definition(segment.definition)
    params = []

    def positional(match) -> str:
        params.append(named[match.group(1)])
        return "%s"

    sql = "SELECT c.id FROM audience_client c WHERE " + NAMED_PARAMETER.sub(positional, where)  # noqa: S608
    return clients.filter(pk__in=RawSQL(sql, params))  # noqa: S611 - fixed fragments, values as parameters


def _definition(segment_or_definition) -> dict:
    """A saved segment's definition (validated when saved), or a raw one validated now (InvalidDefinition)."""
    if isinstance(segment_or_definition, Segment):
        return segment_or_definition.definition
    return validate_definition(segment_or_definition)


def name_taken(name: str, exclude_pk: int | None = None) -> bool:
    segments = Segment.objects.filter(name__iexact=name.strip())
    if exclude_pk is not None:
        segments = segments.exclude(pk=exclude_pk)
    return segments.exists()


def save_segment(segment: Segment, name: str, definition) -> Segment:
    """Validate and save; raises InvalidDefinition and changes nothing when the definition is wrong."""
    segment.definition = validate_definition(definition)
    segment.name = name.strip()
    segment.save()
    return segment


class SegmentInUse(Exception):
    """A mailing that may still send targets the segment."""


def delete_segment(segment: Segment) -> None:
    """Refused while a mailing that is not completed targets it (it would silently send to fewer)."""
    from tenant_apps.campaigns.models import Mailing

    with transaction.atomic():
        if Mailing.objects.filter(segments=segment).exclude(status=Mailing.Status.COMPLETED).exists():
            raise SegmentInUse
        segment.delete()


# --- mailings sent to lists and segments ---------------------------------------------------------


def mailing_targets_condition(mailing_id: int) -> tuple[str, dict]:
    """SQL condition (starting with AND) on `c` for a mailing sent to chosen lists and/or segments.

    A client counts once: subscribed to any chosen list, or matching any
    chosen segment. With lists only it is exactly the lists' condition (its
    plan is tuned for a million clients, see lists.mailing_lists_condition).
    """
    from tenant_apps.campaigns.models import Mailing

    list_sql, params = lists.mailing_lists_condition(mailing_id)
    segment_ids = Mailing.segments.through.objects.filter(mailing_id=mailing_id).values_list("segment_id", flat=True)
    parts = [list_sql.removeprefix("AND ")] if params["lists"] else []
    for segment in Segment.objects.filter(pk__in=list(segment_ids)).order_by("pk"):
        where, segment_params = compile_definition(segment.definition, prefix=f"seg{segment.pk}_")
        parts.append(where)
        params.update(segment_params)
    if not parts:
        return "AND FALSE", params
    if len(parts) == 1:
        return "AND " + parts[0], params
    return "AND (" + " OR ".join(f"({part})" for part in parts) + ")", params


def mailing_target_count(mailing) -> int:
    """How many subscribed clients a mailing to lists and segments would reach now."""
    where, params = mailing_targets_condition(mailing.pk)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM audience_client c WHERE c.is_subscribed {where}", params)  # noqa: S608
        return cursor.fetchone()[0]


# --- what the builder page needs ---------------------------------------------------------------


def builder_options() -> dict:
    """Everything the segment builder offers, as JSON for its script: subjects, operators, choices."""
    from tenant_apps.campaigns.models import Mailing

    fields = [
        {
            "key": field.key,
            "label": field.label,
            "type": field.type,
            "choices": field.choices,
            "ops": list(FIELD_OPERATORS[field.type]),
        }
        for field in custom_fields.definitions()
    ]
    return {
        "fields": fields,
        "kinds": {
            kind: {"label": str(label), "ops": list(KIND_OPERATORS[kind])} for kind, label in KIND_LABELS.items()
        },
        "ops": {op: str(label) for op, label in OPERATOR_LABELS.items()},
        "noValue": sorted(NO_VALUE),
        "relative": list(RELATIVE_OPERATORS),
        "units": {op: str(label) for op, label in DAYS_UNITS.items()},
        "maxDays": MAX_DAYS,
        "lists": [{"id": item.pk, "name": item.name} for item in MailingList.objects.order_by("name")],
        "mailings": [{"id": item.pk, "name": item.name} for item in Mailing.objects.order_by("name")[:500]],
    }


def preview_json(definition: dict) -> dict:
    """The live count and the first clients, for the builder's endpoint; InvalidDefinition when it is wrong."""
    from django.urls import reverse

    checked = Segment(definition=validate_definition(definition))  # unsaved: validated once for both queries
    counted = segment_count(checked)
    clients = segment_preview(checked)
    return {
        "ok": True,
        "matching": counted.matching,
        "subscribed": counted.subscribed,
        "preview": [
            {
                "email": client.email,
                "name": client.full_name,
                "subscribed": client.is_subscribed,
                "url": reverse("audience:detail", args=[client.pk]),
            }
            for client in clients
        ],
    }
