"""The REST API's endpoints (/api/v1/ on a workspace host; a key of this workspace in every request).

Thin: parse → the web form's rules (or a service's) → one service call → serialize.
"""

import json

from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from tenant_apps.audience import fields as custom_fields
from tenant_apps.audience import lists, segments, services
from tenant_apps.audience.forms import CustomFieldForm, MailingListForm, SegmentForm
from tenant_apps.audience.models import Client, CustomField, MailingList, Membership, Segment
from tenant_apps.campaigns import services as campaigns
from tenant_apps.campaigns.forms import MailingForm, MessageForm
from tenant_apps.campaigns.models import Mailing, Message
from tenant_apps.delivery import reports, transactional
from tenant_apps.delivery.models import Attempt, Delivery, Run

from . import clients as api_clients
from . import serializers as s
from .base import ApiViewSet, RateLimitedMixin, check_form
from .openapi import schema_document
from .pagination import IdCursorPagination
from .problems import PROBLEM_TYPE

PROBLEM = OpenApiResponse(s.ProblemSerializer, description="RFC 9457 problem details")
ERRORS = {(code, PROBLEM_TYPE): PROBLEM for code in (400, 401, 403, 404, 429)}
CONFLICT = {(409, PROBLEM_TYPE): PROBLEM}
TOO_LARGE = {(413, PROBLEM_TYPE): PROBLEM}


class Conflict(exceptions.APIException):
    status_code = 409
    default_code = "conflict"


def parse(serializer_class, data, **kwargs):
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ReadWriteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, ApiViewSet):
    """List, get, delete from mixins; create and change (PATCH: what is left out keeps its value) go through
    `save(instance, data)`, which runs the web form's rules. No PUT: a change is always partial."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def create(self, request):
        instance = self.save(self.serializer_class.Meta.model(), parse(self.serializer_class, request.data))
        return Response(self.get_serializer(instance).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        instance = self.get_object()
        data = parse(self.serializer_class, request.data, instance=instance, partial=True)
        return Response(self.get_serializer(self.save(instance, data)).data)


# --- clients -------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("email", str, description="Exactly this email (ignoring case)."),
            OpenApiParameter("list", int, description="Subscribed to this list."),
            OpenApiParameter(
                "segment", int, description="Matching this segment's conditions (an unknown id is a 400)."
            ),
            OpenApiParameter("updated_since", OpenApiTypes.DATETIME, description="Changed at or after this time."),
            OpenApiParameter(
                "fields.<key>", str, description="A custom field's value, e.g. `fields.city=Kazan` (repeatable keys)."
            ),
        ],
        responses={200: s.ClientSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(responses={200: s.ClientSerializer, **ERRORS}),
    create=extend_schema(responses={201: s.ClientSerializer, **ERRORS}),
    partial_update=extend_schema(
        responses={200: s.ClientSerializer, **ERRORS}, description="Fields left out keep their value."
    ),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
class ClientViewSet(ReadWriteViewSet):
    serializer_class = s.ClientSerializer

    def get_queryset(self):
        clients = api_clients.clients_with_lists()
        if self.action != "list":
            return clients
        params = self.request.query_params
        if params.get("email"):
            found = Client.objects.by_email(params["email"])
            clients = clients.filter(pk=found.pk if found else None)
        if params.get("list"):
            clients = lists.filter_by_list(clients, self.int_param("list"))
        if params.get("segment"):
            segment = Segment.objects.filter(pk=self.int_param("segment")).first()
            if segment is None:
                raise exceptions.ValidationError({"segment": [_("No such segment.")]})
            clients = segments.filter_by_segment(clients, segment)
        if params.get("updated_since"):
            try:
                since = parse_datetime(params["updated_since"])
            except ValueError:
                since = None
            if since is None:
                raise exceptions.ValidationError({"updated_since": [_("Not a date and time (ISO 8601).")]})
            clients = clients.filter(updated__gte=since)
        return clients.filter(**self.field_filters())

    def int_param(self, name):
        value = self.request.query_params.get(name, "")
        if not value.isdigit() or int(value) >= 2**63:
            raise exceptions.ValidationError({name: [_("Not an id.")]})
        return int(value)

    def field_filters(self):
        definitions = {definition.key: definition for definition in custom_fields.definitions()}
        filters = {}
        for name, raw in self.request.query_params.items():
            if not name.startswith(custom_fields.FIELD_COLUMN):
                continue
            key = name.removeprefix(custom_fields.FIELD_COLUMN)
            if key not in definitions:
                raise exceptions.ValidationError({name: [_("Unknown custom field.")]})
            try:
                value = custom_fields.clean_value(definitions[key], raw)
            except custom_fields.InvalidValue as error:
                raise exceptions.ValidationError({name: [services.translate(error.message, error.params)]}) from None
            filters[f"fields__{key}"] = value
        return filters

    def save(self, client, data):
        form = api_clients.client_form(client, data)
        check_form(form, api_clients.rename_form_field)
        try:
            return api_clients.save_client_form(form)
        except services.EmailTaken:
            raise exceptions.ValidationError(
                {"email": [_("A client with this email already exists (emails are compared ignoring case).")]}
            ) from None

    def perform_destroy(self, client):
        services.delete_client(client)

    @extend_schema(
        request=s.ClientSerializer,
        responses={200: s.ClientSerializer, 201: s.ClientSerializer, **ERRORS},
        description="Update the client with this email, or create one; fields left out keep their value.",
    )
    @action(detail=False, methods=["post"])
    def upsert(self, request):
        data = parse(self.serializer_class, request.data)
        existing = Client.objects.by_email(data.get("email", ""))
        client = self.save(existing or Client(), data)
        code = status.HTTP_200_OK if existing else status.HTTP_201_CREATED
        return Response(self.get_serializer(client).data, status=code)

    @extend_schema(
        request=s.BulkDocSerializer,
        responses={200: s.BulkResultSerializer, **ERRORS, **TOO_LARGE},
        description="Create or update up to 10,000 clients by email in one transaction. Rows that break a rule "
        "are refused one by one with a reason (and their index); the others are applied.",
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        data = parse(s.BulkUpsertSerializer, request.data)
        list_id = data.get("list")
        if list_id is not None and not MailingList.objects.filter(pk=list_id).exists():
            raise exceptions.ValidationError({"list": [_("No such list.")]})
        return Response(api_clients.bulk_upsert(data["clients"], list_id))

    @extend_schema(request=s.ListMembershipSerializer, responses={200: s.ClientSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def subscribe(self, request, pk=None):
        return self.change_membership(request, subscribed=True)

    @extend_schema(request=s.ListMembershipSerializer, responses={200: s.ClientSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def unsubscribe(self, request, pk=None):
        return self.change_membership(request, subscribed=False)

    def change_membership(self, request, subscribed):
        client = self.get_object()
        data = parse(s.ListMembershipSerializer, request.data)
        mailing_list = MailingList.objects.filter(pk=data["list"]).first()
        if mailing_list is None:
            raise exceptions.ValidationError({"list": [_("No such list.")]})
        lists.set_list_membership(client, mailing_list, subscribed, Membership.Source.API)
        return Response(self.get_serializer(self.get_object()).data)


# --- lists and custom fields ---------------------------------------------------------------


def crud_schema(serializer):
    return extend_schema_view(
        list=extend_schema(responses={200: serializer(many=True), **ERRORS}),
        retrieve=extend_schema(responses={200: serializer, **ERRORS}),
        create=extend_schema(responses={201: serializer, **ERRORS}),
        partial_update=extend_schema(responses={200: serializer, **ERRORS}),
        destroy=extend_schema(responses={204: None, **ERRORS, **CONFLICT}),
    )


@crud_schema(s.MailingListSerializer)
class MailingListViewSet(ReadWriteViewSet):
    serializer_class = s.MailingListSerializer

    def get_queryset(self):
        return lists.lists_with_counts()

    def save(self, mailing_list, data):
        current = {"name": mailing_list.name, "description": mailing_list.description}
        current |= {"is_public": mailing_list.is_public, "double_opt_in": mailing_list.double_opt_in}
        form = MailingListForm({**current, **data}, instance=mailing_list)
        check_form(form)
        return self.get_queryset().get(pk=form.save().pk)

    def perform_destroy(self, mailing_list):
        try:
            lists.delete_list(mailing_list)
        except lists.ListInUse:
            raise Conflict(_("A mailing that may still send uses this list: change or delete it first.")) from None


@crud_schema(s.CustomFieldSerializer)
class CustomFieldViewSet(ReadWriteViewSet):
    serializer_class = s.CustomFieldSerializer
    queryset = CustomField.objects.all()

    def save(self, definition, data):
        if definition.pk:
            for name in ("key", "type"):
                if name in data and data[name] != getattr(definition, name):
                    raise exceptions.ValidationError({name: [_("The key and type of a field cannot change.")]})
        values = {"label": data.get("label", definition.label), "key": data.get("key", definition.key)}
        values["type"] = data.get("type", definition.type)
        values["choices_text"] = "\n".join(data.get("choices", definition.choices))
        form = CustomFieldForm(values, instance=definition)
        check_form(form, lambda name: "choices" if name == "choices_text" else name)
        return form.save()

    def perform_destroy(self, definition):
        custom_fields.delete_field(definition)


# --- segments ----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses={200: s.SegmentSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: s.SegmentSerializer, **ERRORS}),
    create=extend_schema(responses={201: s.SegmentSerializer, **ERRORS}),
    partial_update=extend_schema(responses={200: s.SegmentSerializer, **ERRORS}),
    destroy=extend_schema(responses={204: None, **ERRORS, **CONFLICT}),
)
class SegmentViewSet(ReadWriteViewSet):
    """Saved filters over the clients; the definition is checked by the segment builder's rules."""

    serializer_class = s.SegmentSerializer
    queryset = Segment.objects.all()

    def save(self, segment, data):
        values = {"name": data.get("name", segment.name)}
        values["definition"] = json.dumps(data.get("definition", segment.definition), ensure_ascii=False)
        form = check_form(SegmentForm(values, segment=segment))
        return segments.save_segment(segment, form["name"], form["definition"])

    def perform_destroy(self, segment):
        try:
            segments.delete_segment(segment)
        except segments.SegmentInUse:
            raise Conflict(_("A mailing that may still send uses this segment: change or delete it first.")) from None

    @extend_schema(
        responses={200: s.SegmentCountSerializer, **ERRORS},
        description="How many clients match now, and how many of them are subscribed or unsubscribed.",
    )
    @action(detail=True, methods=["get"], serializer_class=s.SegmentCountSerializer)
    def count(self, request, pk=None):
        counted = segments.segment_count(self.get_object())
        unsubscribed = counted.matching - counted.subscribed
        return Response({"matching": counted.matching, "subscribed": counted.subscribed, "unsubscribed": unsubscribed})

    @extend_schema(
        responses={200: s.ClientSerializer(many=True), **ERRORS},
        description=f"The first {segments.PREVIEW_SIZE} matching clients, by id.",
    )
    @action(detail=True, methods=["get"], serializer_class=s.ClientSerializer, pagination_class=None)
    def preview(self, request, pk=None):
        ids = [client.pk for client in segments.segment_preview(self.get_object())]
        clients = api_clients.clients_with_lists().filter(pk__in=ids).order_by("id")
        return Response(s.ClientSerializer(clients, many=True).data)


# --- messages and mailings -----------------------------------------------------------------


@crud_schema(s.MessageSerializer)
class MessageViewSet(ReadWriteViewSet):
    serializer_class = s.MessageSerializer
    queryset = Message.objects.user_made()

    def save(self, message, data):
        current = {"subject": message.subject, "body_text": message.body_text, "body_html": message.body_html}
        form = MessageForm({**current, **data}, instance=message)
        check_form(form)
        return form.save()

    def perform_destroy(self, message):
        try:
            campaigns.delete_message(message)
        except campaigns.ActionRefused as refusal:
            raise Conflict(str(refusal)) from None


MAILING = {200: s.MailingSerializer, **ERRORS}


@crud_schema(s.MailingSerializer)
class MailingViewSet(ReadWriteViewSet):
    serializer_class = s.MailingSerializer
    queryset = Mailing.objects.user_made().prefetch_related("clients", "lists")

    def save(self, mailing, data):
        own = [name for name in MailingForm.Meta.fields if name not in ("message", "clients", "lists", "segments")]
        current = {name: getattr(mailing, name) for name in own}  # a new mailing's are the model's defaults
        if mailing.pk:
            current |= {"message": mailing.message_id, "clients": [c.pk for c in mailing.clients.all()]}
            current |= {"lists": [item.pk for item in mailing.lists.all()]}
            current |= {"segments": [item.pk for item in mailing.segments.all()]}
        values = {**current, **{name: value for name, value in data.items() if name != "message_id"}}
        if "message_id" in data:
            values["message"] = data["message_id"]
        values["clients"] = ",".join(str(pk) for pk in values.get("clients", []))
        form = MailingForm(values, instance=mailing)
        check_form(form)
        return campaigns.save_mailing(form)

    def perform_destroy(self, mailing):
        campaigns.delete_mailing(mailing)

    @extend_schema(request=s.ScheduleSerializer, responses=MAILING)
    @action(detail=True, methods=["post"])
    def schedule(self, request, pk=None):
        """Set when the mailing sends (start, end, periodicity); sending starts by itself in that window."""
        mailing = self.get_object()
        mailing = self.save(mailing, parse(s.ScheduleSerializer, request.data))
        return Response(self.get_serializer(self.get_queryset().get(pk=mailing.pk)).data)

    @extend_schema(request=None, responses=MAILING)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        mailing = self.get_object()
        campaigns.pause_mailing(mailing)
        return Response(self.get_serializer(mailing).data)

    @extend_schema(request=None, responses={**MAILING, **CONFLICT})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        mailing = self.get_object()
        try:
            campaigns.resume_mailing(mailing)
        except campaigns.ActionRefused as refusal:
            raise Conflict(str(refusal)) from None
        return Response(self.get_serializer(mailing).data)

    @extend_schema(responses={200: s.RunSerializer(many=True), **ERRORS})
    @action(detail=True, methods=["get"], serializer_class=s.RunSerializer)
    def runs(self, request, pk=None):
        """The mailing's runs with their delivery counts (the report's numbers), newest first."""
        mailing = self.get_object()
        paginator = RunPagination()
        page = paginator.paginate_queryset(reports.run_counts(mailing), request, view=self)
        return paginator.get_paginated_response(s.RunSerializer(page, many=True).data)


# --- runs: deliveries and attempts -----------------------------------------------------------


class RunPagination(IdCursorPagination):
    ordering = "-id"


STATUS = OpenApiParameter("status", str, description="Only this status.")


@extend_schema_view(retrieve=extend_schema(responses={200: s.RunSerializer, **ERRORS}))
class RunViewSet(mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = s.RunSerializer

    def get_queryset(self):
        return Run.objects.all()

    def get_object(self):
        run = super().get_object()
        return reports.run_counts(run.mailing).get(pk=run.pk)

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=Delivery.Status.values)],
        responses={200: s.DeliverySerializer(many=True), **ERRORS},
    )
    @action(detail=True, methods=["get"], serializer_class=s.DeliverySerializer)
    def deliveries(self, request, pk=None):
        run = get_object_or_404(Run, pk=pk)
        deliveries = Delivery.objects.filter(run=run)
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in Delivery.Status.values:
                raise exceptions.ValidationError({"status": [_("Unknown status.")]})
            deliveries = deliveries.filter(status=wanted)
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(deliveries, request, view=self)
        return paginator.get_paginated_response(s.DeliverySerializer(page, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=Attempt.Status.values),
            OpenApiParameter("before", str, description="A cursor: the page older than it."),
            OpenApiParameter("after", str, description="A cursor: the page newer than it."),
            OpenApiParameter("limit", int, description="Rows per page (up to 1000)."),
        ],
        responses={200: s.AttemptPageSerializer, **ERRORS},
    )
    @action(detail=True, methods=["get"], serializer_class=s.AttemptSerializer, pagination_class=None)
    def attempts(self, request, pk=None):
        """The run's attempt log, newest first: the same rows and cursor as the mailing report's log."""
        run = get_object_or_404(Run.objects.select_related("mailing"), pk=pk)
        params = request.query_params
        wanted = params.get("status") or None
        if wanted and wanted not in Attempt.Status.values:
            raise exceptions.ValidationError({"status": [_("Unknown status.")]})
        limit = params.get("limit", "")
        size = min(int(limit), 1000) if limit.isdigit() and int(limit) > 0 else None
        try:
            page = reports.log_page(
                reports.attempt_log(run.mailing, status=wanted, run=run),
                before=params.get("before"),
                after=params.get("after"),
                size=size,
            )
        except ValueError:
            raise exceptions.ValidationError({"cursor": [_("Not a cursor from this log.")]}) from None

        def link(name, cursor):
            if cursor is None:
                return None
            query = params.copy()
            query.pop("before", None), query.pop("after", None)
            query[name] = cursor
            return request.build_absolute_uri(request.path + "?" + query.urlencode())

        return Response(
            {
                "next": link("before", page.older),
                "previous": link("after", page.newer),
                "results": s.AttemptSerializer(page.attempts, many=True).data,
            }
        )


@extend_schema_view(retrieve=extend_schema(responses={200: s.DeliverySerializer, **ERRORS}))
class DeliveryViewSet(mixins.RetrieveModelMixin, ApiViewSet):
    """One delivery (a transactional send's, or a mailing's): its status and last response."""

    serializer_class = s.DeliverySerializer
    queryset = Delivery.objects.all()


IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Up to 255 characters: a retried request with the same key sends nothing new and answers "
    "with the first request's delivery.",
)


class SendViewSet(ApiViewSet):
    serializer_class = s.SendSerializer

    @extend_schema(
        request=s.SendSerializer,
        parameters=[IDEMPOTENCY],
        responses={202: s.SendResultSerializer, **ERRORS},
        description="Send one message to one address now, through the delivery engine (retries, attempt log, "
        "breaker, suppression and unsubscribe rules). Answers at once with the delivery's id; "
        "GET /api/v1/deliveries/{id}/ tells how it went.",
    )
    def create(self, request):
        data = parse(s.SendSerializer, request.data)
        key = request.headers.get("Idempotency-Key", "")
        if len(key) > 255:
            raise exceptions.ValidationError({"Idempotency-Key": [_("At most 255 characters.")]})
        if "message" in data:
            message = Message.objects.user_made().filter(pk=data["message"]).first()
            if message is None:
                raise exceptions.ValidationError({"message": [_("No such message.")]})
            content = {"subject": message.subject, "body_text": message.body_text, "body_html": message.body_html}
        else:
            content = {name: data.get(name, "") for name in ("subject", "body_text", "body_html")}
        delivery = transactional.send_transactional(
            email=data["to"],
            client=Client.objects.by_email(data["to"]),
            values=data.get("values"),
            idempotency_key=key,
            **content,
        )
        return Response({"delivery": delivery.pk, "status": delivery.status}, status=status.HTTP_202_ACCEPTED)


class SchemaView(RateLimitedMixin, APIView):
    """The OpenAPI 3 schema of this API, for any key of the workspace (members read it at /api/schema/)."""

    @extend_schema(exclude=True)
    def get(self, request):
        return Response(schema_document(request))
