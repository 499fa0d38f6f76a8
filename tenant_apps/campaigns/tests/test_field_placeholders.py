"""{{ fields.<key> }} in messages: known only for defined fields, filled per recipient."""

from django.urls import reverse

from tenant_apps.audience.models import CustomField
from tenant_apps.campaigns.models import Message
from tenant_apps.campaigns.rendering import CompiledMessage, render_for_client, unknown_placeholders


def test_a_defined_field_is_a_known_placeholder_and_an_undefined_one_is_a_form_error(editor_client):
    CustomField.objects.create(key="city", label="Город")

    good = editor_client.post(
        reverse("campaigns:message_create"),
        {"subject": "Привет из {{ fields.city }}", "body_text": "Текст {{fields.city}}", "body_html": ""},
    )
    bad = editor_client.post(
        reverse("campaigns:message_create"),
        {"subject": "Привет", "body_text": "Текст {{ fields.town }}", "body_html": ""},
    )

    assert good.status_code == 302
    assert bad.status_code == 200 and "{{ fields.town }}" in bad.context["form"].errors["body_text"][0]
    assert "{{ fields.city }}" in bad.context["form"].errors["body_text"][0]  # listed among the known ones
    assert list(Message.objects.values_list("subject", flat=True)) == ["Привет из {{ fields.city }}"]


def test_unknown_placeholders_know_fields_only_when_told():
    assert unknown_placeholders("{{ fields.city }}") == ["fields.city"]
    assert unknown_placeholders("{{ fields.city }}", field_keys=["city"]) == []


def test_field_values_are_filled_escaped_in_html_and_missing_ones_are_empty():
    compiled = CompiledMessage("{{ fields.city }}", "{{ fields.city }}/{{ fields.age }}", "<p>{{ fields.city }}</p>")

    rendered = compiled.render(name="", email="a@x.io", unsubscribe_url="u", fields={"city": "<Казань>"})

    assert rendered == ("<Казань>", "<Казань>/", "<p>&lt;Казань&gt;</p>")
    assert render_for_client(
        "{{ fields.city }}", "{{ fields.age }}", "", name="", email="a@x.io", unsubscribe_url="u", fields={"age": 42}
    ) == ("", "42", "")
