"""The API's shapes. Rules live in the web forms and services; these only state types and names."""

from django.conf import settings
from rest_framework import serializers

from tenant_apps.audience.models import Client, CustomField, MailingList
from tenant_apps.campaigns.models import Mailing, Message
from tenant_apps.delivery.models import Attempt, Delivery, Run

from .base import StrictModelSerializer, StrictSerializer
from .clients import subscribed_list_ids

ID = {"min_value": 1, "max_value": 2**63 - 1}
FieldValue = serializers.JSONField  # a string, number or boolean (checked by the field's type)


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
    clients = serializers.ListField(
        child=serializers.JSONField(),
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


# --- messages, mailings, runs ----------------------------------------------------------


class MessageSerializer(StrictModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "subject", "body_text", "body_html", "created", "updated"]


class MailingSerializer(StrictModelSerializer):
    message = serializers.IntegerField(source="message_id", **ID)
    clients = serializers.ListField(child=serializers.IntegerField(**ID), required=False)
    lists = serializers.ListField(child=serializers.IntegerField(**ID), required=False)

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

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["clients"] = sorted(item.pk for item in instance.clients.all())
        data["lists"] = sorted(item.pk for item in instance.lists.all())
        return data


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
