"""The API's shapes. Rules live in the web forms and services; these only state types and names."""

from django.conf import settings
from rest_framework import serializers

from tenant_apps.audience.models import Client, CustomField, MailingList, Segment
from tenant_apps.campaigns.models import Mailing, Message
from tenant_apps.delivery.models import Attempt, Delivery, Run

from .base import StrictModelSerializer, StrictSerializer
from .clients import subscribed_list_ids

ID = {"min_value": 1, "max_value": 2**63 - 1}
FieldValue = serializers.JSONField  # a string, number or boolean (checked by the field's type)


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, as every error is answered."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors by field (“fields.<key>” for custom fields).",
    )


# --- clients -------------------------------------------------------------------------


class ClientSerializer(StrictModelSerializer):
    fields = serializers.DictField(child=FieldValue(allow_null=True), required=False)
    lists = serializers.ListField(
        child=serializers.IntegerField(**ID), required=False, help_text="Ids of the lists the client is subscribed to."
    )

    class Meta:
        model = Client
        fields = [
            "id",
            "email",
            "full_name",
            "comment",
            "is_subscribed",
            "unsubscribed_at",
            "fields",
            "lists",
            "created",
            "updated",
        ]
        read_only_fields = ["unsubscribed_at", "created", "updated"]
        extra_kwargs = {"email": {"validators": []}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["lists"] = subscribed_list_ids(instance)
        return data

    def validate_fields(self, value):
        for key, item in value.items():
            if item is not None and not isinstance(item, str | int | float | bool):
                raise serializers.ValidationError(f"“{key}”: a string, number, boolean or null.")
        return value


class ListMembershipSerializer(StrictSerializer):
    list = serializers.IntegerField(**ID)


class BulkRowSerializer(serializers.Serializer):
    """One row of a bulk upsert (documentation; rows are checked one by one, bad ones refused)."""

    email = serializers.EmailField()
    full_name = serializers.CharField(required=False, allow_blank=True)
    comment = serializers.CharField(required=False, allow_blank=True)
    is_subscribed = serializers.BooleanField(required=False, allow_null=True)
    fields = serializers.DictField(child=FieldValue(allow_null=True), required=False)


class BulkUpsertSerializer(StrictSerializer):
    # Rows are not validated here but one by one in clients.bulk_upsert, so a bad row is refused alone.
    clients = serializers.ListField(
        max_length=settings.API_BULK_MAX_ROWS,
        allow_empty=False,
        help_text=f"Up to {settings.API_BULK_MAX_ROWS:,} rows, each like BulkRow.",
    )
    list = serializers.IntegerField(
        required=False, allow_null=True, help_text="A list every applied row joins (unless they left it).", **ID
    )


class BulkDocSerializer(BulkUpsertSerializer):
    clients = BulkRowSerializer(many=True, max_length=settings.API_BULK_MAX_ROWS)


class RefusedRowSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    email = serializers.CharField(allow_null=True)
    reason = serializers.CharField()


class BulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    refused = serializers.IntegerField()
    refused_rows = RefusedRowSerializer(many=True)


# --- lists and custom fields ---------------------------------------------------------


class MailingListSerializer(StrictModelSerializer):
    subscribed_count = serializers.IntegerField(read_only=True)
    unconfirmed_count = serializers.IntegerField(read_only=True)
    unsubscribed_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = MailingList
        fields = [
            "id",
            "name",
            "description",
            "is_public",
            "double_opt_in",
            "created",
            "subscribed_count",
            "unconfirmed_count",
            "unsubscribed_count",
        ]
        extra_kwargs = {"name": {"validators": []}}


class CustomFieldSerializer(StrictModelSerializer):
    choices = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=100)

    class Meta:
        model = CustomField
        fields = ["id", "key", "label", "type", "choices", "created"]
        extra_kwargs = {"key": {"validators": [], "help_text": "Fixed once created."}}


class SegmentSerializer(StrictModelSerializer):
    definition = serializers.JSONField(
        help_text='The conditions: {"match": "all"|"any", "conditions": [...]} with one level of '
        "groups; the README's Segments section lists the condition kinds and operators."
    )

    class Meta:
        model = Segment
        fields = ["id", "name", "definition", "created", "updated"]
        extra_kwargs = {"name": {"validators": []}}


class SegmentCountSerializer(serializers.Serializer):
    matching = serializers.IntegerField(help_text="Clients matching the conditions.")
    subscribed = serializers.IntegerField(help_text="Of them, subscribed to mail (a mailing would reach these).")
    unsubscribed = serializers.IntegerField(help_text="Of them, unsubscribed from everything.")


# --- messages, mailings, runs ----------------------------------------------------------


class MessageSerializer(StrictModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "subject", "body_text", "body_html", "created", "updated"]


class IdList(serializers.ListField):
    """Ids in, ids out (of a many-to-many relation)."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.IntegerField(**ID), required=False, **kwargs)

    def to_representation(self, data):
        return sorted(item.pk for item in data.all())


class MailingSerializer(StrictModelSerializer):
    message = serializers.IntegerField(source="message_id", **ID)
    clients = IdList(help_text="The chosen clients, for audience “selected”.")
    lists = IdList(help_text="The lists, for audience “lists”.")

    class Meta:
        model = Mailing
        fields = [
            "id",
            "name",
            "message",
            "audience",
            "clients",
            "lists",
            "start_at",
            "end_at",
            "periodicity",
            "from_email",
            "track_opens",
            "track_clicks",
            "add_utm",
            "status",
            "is_paused",
            "disabled_by_manager",
            "pause_reason",
            "created",
            "updated",
        ]
        read_only_fields = ["status", "is_paused", "disabled_by_manager", "pause_reason", "created", "updated"]


class ScheduleSerializer(StrictSerializer):
    start_at = serializers.DateTimeField()
    end_at = serializers.DateTimeField()
    periodicity = serializers.ChoiceField(choices=Mailing.Periodicity.choices, required=False)


class RunSerializer(serializers.ModelSerializer):
    total = serializers.IntegerField(read_only=True)
    sent = serializers.IntegerField(read_only=True, help_text="Sent, bounced and complained-about included.")
    failed = serializers.IntegerField(read_only=True)
    pending = serializers.IntegerField(read_only=True)
    skipped = serializers.IntegerField(read_only=True)
    bounced = serializers.IntegerField(read_only=True)
    complained = serializers.IntegerField(read_only=True)

    class Meta:
        model = Run
        fields = [
            "id",
            "mailing",
            "scheduled_for",
            "status",
            "started_at",
            "finished_at",
            "deadline",
            "total",
            "sent",
            "failed",
            "pending",
            "skipped",
            "bounced",
            "complained",
        ]


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "run",
            "client",
            "email",
            "status",
            "attempt_count",
            "next_attempt_at",
            "finished_at",
            "last_response",
        ]


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = ["id", "delivery", "at", "status", "smtp_code", "response", "permanent"]


class AttemptPageSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="The next, older page.")
    previous = serializers.CharField(allow_null=True, help_text="The previous, newer page.")
    results = AttemptSerializer(many=True)


# --- transactional send -----------------------------------------------------------------


class SendSerializer(StrictSerializer):
    to = serializers.EmailField(
        help_text="The one recipient. A client with this email gets their fields and "
        "unsubscribe link filled in, and nothing is sent while they are unsubscribed."
    )
    message = serializers.IntegerField(required=False, help_text="A saved message's id…", **ID)
    subject = serializers.CharField(required=False, max_length=255, help_text="…or a subject and body.")
    body_text = serializers.CharField(required=False)
    body_html = serializers.CharField(required=False, allow_blank=True)
    values = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=10_000),
        required=False,
        help_text='Up to 100 placeholder values: {"code": "1234"} fills {{ code }}.',
    )

    def validate_values(self, values):
        if len(values) > 100:
            raise serializers.ValidationError("At most 100 values.")
        return values

    def validate(self, data):
        if ("message" in data) == ("subject" in data or "body_text" in data):
            raise serializers.ValidationError("Give either “message” or “subject” and “body_text”.")
        if "message" not in data and not ("subject" in data and "body_text" in data):
            raise serializers.ValidationError("Give both “subject” and “body_text”.")
        return data


class SendResultSerializer(serializers.Serializer):
    delivery = serializers.IntegerField()
    status = serializers.CharField()
