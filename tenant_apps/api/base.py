"""What every API view and serializer shares: the rate limit, strict input, form-backed rules."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers, viewsets

from . import ratelimit

UNKNOWN_FIELD = _("Unknown or read-only field.")


class RateLimitedMixin:
    """Counts every authenticated request against its key's bucket; headers on every answer."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        for name, value in request.query_params.items():
            if "\x00" in name or "\x00" in value:  # PostgreSQL text cannot hold NUL
                raise serializers.ValidationError({name.replace("\x00", ""): [_("Contains a NUL character.")]})

    def check_throttles(self, request):
        key = request.auth
        if key is None:
            return
        verdict = ratelimit.take(key.pk)
        request.rate_verdict = verdict
        if not verdict.allowed:
            raise exceptions.Throttled(wait=verdict.retry_after)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        verdict = getattr(request, "rate_verdict", None)
        if verdict is not None:
            for name, value in verdict.headers().items():
                response[name] = value
        return response


class ApiViewSet(RateLimitedMixin, viewsets.GenericViewSet):
    # Ids are bigints: anything else is an unknown URL (404), never an out-of-range query.
    lookup_value_regex = "[0-9]{1,18}"


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know (or may not write), naming them, instead of ignoring them."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(name) for name in data if name not in writable)
            if unknown:
                raise serializers.ValidationError({name: [UNKNOWN_FIELD] for name in unknown})
        return super().to_internal_value(data)


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass


def form_errors(form, rename=None) -> dict[str, list[str]]:
    """A Django form's errors as API field errors ("__all__" → "non_field_errors")."""
    rename = rename or (lambda name: name)
    return {
        ("non_field_errors" if name == "__all__" else rename(name)): [str(message) for message in messages]
        for name, messages in form.errors.items()
    }


def check_form(form, rename=None):
    """Run the web form's rules (one definition per rule); ValidationError with its errors."""
    if not form.is_valid():
        raise serializers.ValidationError(form_errors(form, rename))
    return form.cleaned_data
