"""Clients over the API: the web form's rules for one client, set-based SQL for bulk upserts."""

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tenant_apps.audience import fields as custom_fields
from tenant_apps.audience import lists, services
from tenant_apps.audience.forms import FIELD_PREFIX, ClientForm
from tenant_apps.audience.models import Client, Membership

ROW_KEYS = ("email", "full_name", "comment", "is_subscribed", "fields")
REASON_NOT_OBJECT = gettext_noop("a row must be a JSON object")
REASON_UNKNOWN_FIELD = gettext_noop("unknown field “%(name)s”")
REASON_NOT_TEXT = gettext_noop("“%(name)s” must be a string")
REASON_NOT_BOOLEAN = gettext_noop("“%(name)s” must be true or false")
REASON_FIELDS_NOT_OBJECT = gettext_noop("“fields” must be an object of custom field values")
REASON_UNKNOWN_CUSTOM_FIELD = gettext_noop("unknown custom field “%(name)s”")
REASON_NOT_SCALAR = gettext_noop("the value of “%(name)s” must be a string, number or boolean")
REASON_DUPLICATE_ROW = gettext_noop("the same email is already in row %(index)s of this request")
REASON_CLIENT_LIMIT = gettext_noop("the workspace reached its limit of clients")


def clients_with_lists():
    """Clients with the ids of the lists they are subscribed to (one extra query per page)."""
    subscribed = Membership.objects.filter(status=Membership.Status.SUBSCRIBED).only("client_id", "mailing_list_id")
    return Client.objects.prefetch_related(Prefetch("memberships", queryset=subscribed, to_attr="subscribed"))


def subscribed_list_ids(client: Client) -> list[int]:
    memberships = getattr(client, "subscribed", None)
    if memberships is None:
        return sorted(lists.subscribed_lists(client).values_list("pk", flat=True))
    return sorted(membership.mailing_list_id for membership in memberships)


def rename_form_field(name: str) -> str:
    return "fields." + name.removeprefix(FIELD_PREFIX) if name.startswith(FIELD_PREFIX) else name


def client_form(client: Client, data: dict) -> ClientForm:
    """The web's ClientForm filled from API data; what `data` leaves out keeps its current value."""
    known = {definition.key for definition in custom_fields.definitions()}
    unknown = sorted(set(data.get("fields") or {}) - known)
    if unknown:
        from rest_framework.exceptions import ValidationError

        raise ValidationError({f"fields.{key}": [_("Unknown custom field.")] for key in unknown})
    stored = client.fields or {}
    given = data.get("fields") or {}
    form_data = {
        "email": data.get("email", client.email),
        "full_name": data.get("full_name", client.full_name),
        "comment": data.get("comment", client.comment),
        "is_subscribed": data.get("is_subscribed", client.is_subscribed),
        "lists": data["lists"] if "lists" in data else (subscribed_list_ids(client) if client.pk else []),
    }
    for key in known:
        value = given[key] if key in given else stored.get(key)
        form_data[FIELD_PREFIX + key] = "" if value is None else value
    return ClientForm(form_data, instance=client)


def save_client_form(form: ClientForm) -> Client:
    """Save like the web page does: the client and its lists together. Raises services.EmailTaken."""
    with transaction.atomic():
        client = services.save_client(form.instance)
        lists.set_client_lists(client, form.cleaned_data["lists"])
    return client


# --- bulk upsert ---------------------------------------------------------------------


def clean_bulk_row(row, definitions: dict) -> tuple[dict | None, str | None, dict]:
    """(cleaned values, None, {}) or (None, untranslated reason, params) for one row of a bulk request."""
    if not isinstance(row, dict):
        return None, REASON_NOT_OBJECT, {}
    for name in row:
        if name not in ROW_KEYS:
            return None, REASON_UNKNOWN_FIELD, {"name": str(name)[:50]}
    values = {}
    for name in ("email", "full_name", "comment"):
        if name in row:
            if not isinstance(row[name], str):
                return None, REASON_NOT_TEXT, {"name": name}
            values[name] = row[name].strip()
    values.setdefault("email", "")
    subscribed = row.get("is_subscribed")
    if subscribed is not None and not isinstance(subscribed, bool):
        return None, REASON_NOT_BOOLEAN, {"name": "is_subscribed"}
    given = row.get("fields") or {}
    if not isinstance(given, dict):
        return None, REASON_FIELDS_NOT_OBJECT, {}
    for key, value in given.items():
        if key not in definitions:
            return None, REASON_UNKNOWN_CUSTOM_FIELD, {"name": str(key)[:50]}
        if value is not None and not isinstance(value, str | int | float | bool):
            return None, REASON_NOT_SCALAR, {"name": key}
        values[custom_fields.FIELD_COLUMN + key] = value
    cleaned, reason, params = services.clean_client_values(values, definitions)
    if cleaned is None:
        return None, reason, params
    cleaned["is_subscribed"] = subscribed
    return cleaned, None, {}


def refusal(index: int, row, reason: str, params: dict) -> dict:
    email = row.get("email") if isinstance(row, dict) else None
    return {
        "index": index,
        "email": email.replace("\x00", "")[:254] if isinstance(email, str) else None,
        "reason": services.translate(reason, params),
    }


def bulk_upsert(rows: list, list_id: int | None = None) -> dict:
    """Create or update up to API_BULK_MAX_ROWS clients in one transaction; bad rows are refused, the rest applied.

    Returns {"created", "updated", "refused", "refused_rows": [{"index", "email", "reason"}]}.
    """
    assert len(rows) <= settings.API_BULK_MAX_ROWS
    definitions = {definition.key: definition for definition in custom_fields.definitions()}
    good, refused, first_index = [], [], {}
    for index, row in enumerate(rows):
        cleaned, reason, params = clean_bulk_row(row, definitions)
        if cleaned is not None:
            email = cleaned["email"].lower()
            if email in first_index:
                cleaned, reason, params = None, REASON_DUPLICATE_ROW, {"index": first_index[email]}
            else:
                first_index[email] = index
        if cleaned is None:
            refused.append(refusal(index, row, reason, params))
        else:
            good.append(cleaned)
    with transaction.atomic():
        created, updated, over_limit = services.upsert_clients(good)
        if list_id is not None:
            applied = set(created) | set(updated)
            lists.subscribe_emails(
                list_id, [row["email"] for row in good if row["email"].lower() in applied], Membership.Source.API
            )
    for email in over_limit:
        refused.append(refusal(first_index[email], rows[first_index[email]], REASON_CLIENT_LIMIT, {}))
    refused.sort(key=lambda item: item["index"])
    return {"created": len(created), "updated": len(updated), "refused": len(refused), "refused_rows": refused}
