"""Messages: list, create, edit, preview, delete."""

import html

from django.urls import reverse

from tenant_apps.campaigns.models import Message


def url(name, *args):
    return reverse(f"campaigns:{name}", args=args)


def test_editor_creates_a_message_and_lands_on_its_preview(editor_client):
    response = editor_client.post(
        url("message_create"),
        {"subject": "Hi {{ name }}", "body_text": "Dear {{name}}, see you. {{ unsubscribe_url }}", "body_html": ""},
    )

    message = Message.objects.get(subject="Hi {{ name }}")
    assert response.status_code == 302
    assert response["Location"] == url("message_detail", message.pk)
    assert message.body_text == "Dear {{name}}, see you. {{ unsubscribe_url }}"


def test_message_list_shows_each_message_with_how_many_mailings_use_it(editor_client, make_message, make_mailing):
    used = make_message(subject="Used one")
    make_message(subject="Unused one")
    make_mailing(message=used)
    make_mailing(message=used, name="Second")

    response = editor_client.get(url("message_list"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Used one" in page and "Unused one" in page
    rows = {m.subject: m.mailing_count for m in response.context["page"].object_list}
    assert rows["Used one"] == 2 and rows["Unused one"] == 0


def test_editor_edits_a_message(editor_client, make_message):
    message = make_message(subject="Old")

    response = editor_client.post(
        url("message_edit", message.pk), {"subject": "New {{ email }}", "body_text": "Body", "body_html": "<p>Hi</p>"}
    )

    message.refresh_from_db()
    assert response.status_code == 302
    assert (message.subject, message.body_text, message.body_html) == ("New {{ email }}", "Body", "<p>Hi</p>")


def test_unknown_placeholder_is_a_form_error_and_nothing_is_saved(editor_client):
    response = editor_client.post(
        url("message_create"), {"subject": "Hi {{ nmae }}", "body_text": "Dear {{ name }}", "body_html": "{{ phone }}"}
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert "{{ nmae }}" in form.errors["subject"][0]
    assert "{{ phone }}" in form.errors["body_html"][0]
    assert "body_text" not in form.errors
    assert not Message.objects.filter(subject="Hi {{ nmae }}").exists()


def test_unknown_placeholder_in_an_edit_leaves_the_message_unchanged(editor_client, make_message):
    message = make_message(subject="Fine", body_text="Fine body")

    response = editor_client.post(
        url("message_edit", message.pk), {"subject": "Fine", "body_text": "Hi {{ first_name }}", "body_html": ""}
    )

    message.refresh_from_db()
    assert response.status_code == 200
    assert "{{ first_name }}" in response.context["form"].errors["body_text"][0]
    assert message.body_text == "Fine body"


def test_dangerous_html_is_stripped_when_the_message_is_saved(editor_client):
    dangerous = (
        '<p onclick="steal()">Hello {{ name }}</p><script>alert(1)</script>'
        '<a href="javascript:alert(2)">click</a><a href="{{ unsubscribe_url }}">leave</a>'
        '<iframe src="https://evil.example"></iframe><img src="x" onerror="alert(3)">'
        '<table style="position:fixed;color:red"><tr><td>cell</td></tr></table>'
    )

    editor_client.post(url("message_create"), {"subject": "S", "body_text": "T", "body_html": dangerous})

    stored = Message.objects.get(subject="S").body_html
    for bad in ("<script", "onclick", "javascript:", "<iframe", "onerror", "position"):
        assert bad not in stored
    assert "<p>Hello {{ name }}</p>" in stored
    assert 'href="{{ unsubscribe_url }}"' in stored
    assert 'style="color:red"' in stored


def test_html_saved_outside_the_form_is_sanitised_too(in_workspace, make_message):
    message = make_message(body_html="<b>ok</b><script>bad()</script>")

    message.refresh_from_db()
    assert message.body_html == "<b>ok</b>"


def test_preview_shows_the_message_rendered_for_the_current_user(editor_client, editor, make_message):
    message = make_message(
        subject="Hi {{ name }}",
        body_text="Your address: {{ email }}. Leave: {{ unsubscribe_url }}",
        body_html="<p>Hello <b>{{ name }}</b></p>",
    )

    response = editor_client.get(url("message_detail", message.pk))

    preview = response.context["preview"]
    assert preview["subject"] == "Hi Ann Editor"
    assert preview["text"].startswith(f"Your address: {editor.email}. Leave: http://acme.localhost/u/")
    assert preview["html"] == "<p>Hello <b>Ann Editor</b></p>"
    page = response.content.decode()
    assert 'sandbox=""' in page
    assert f'srcdoc="{html.escape(preview["html"])}"' in page


def test_delete_asks_for_confirmation_then_deletes(editor_client, make_message):
    message = make_message(subject="Bye")

    confirmation = editor_client.get(url("message_delete", message.pk))
    assert confirmation.status_code == 200
    assert Message.objects.filter(pk=message.pk).exists()

    response = editor_client.post(url("message_delete", message.pk))

    assert response.status_code == 302
    assert response["Location"] == url("message_list")
    assert not Message.objects.filter(pk=message.pk).exists()


def test_message_used_by_a_mailing_cannot_be_deleted_and_the_user_is_told_why(editor_client, make_mailing):
    mailing = make_mailing(name="Black Friday")
    message = mailing.message

    confirmation = editor_client.get(url("message_delete", message.pk))
    response = editor_client.post(url("message_delete", message.pk), follow=True)

    assert "Black Friday" in confirmation.content.decode()
    assert Message.objects.filter(pk=message.pk).exists()
    flashes = [str(m) for m in response.context["messages"]]
    assert any("Black Friday" in flash for flash in flashes)
    assert response.redirect_chain[-1][0] == url("message_detail", message.pk)


def test_pages_are_in_russian_by_default_and_english_on_request(editor_client, make_message):
    make_message()

    russian = editor_client.get(url("message_list")).content.decode()
    editor_client.cookies["django_language"] = "en"
    english = editor_client.get(url("message_list")).content.decode()

    assert "Сообщения" in russian and "Новое сообщение" in russian
    assert "Messages" in english and "New message" in english
