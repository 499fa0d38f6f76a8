""" "Send a test to myself": queued in the request, delivered over SMTP by the queue."""

from email import message_from_bytes, policy

from django.urls import reverse


def send_test_url(message):
    return reverse("campaigns:message_send_test", args=[message.pk])


def test_test_send_reaches_a_real_smtp_server_rendered_for_the_sender(
    editor_client, editor, make_message, smtp_inbox, django_capture_on_commit_callbacks
):
    message = make_message(
        subject="Hi {{ name }}",
        body_text="Plain for {{ email }}",
        body_html="<p>HTML for <b>{{ name }}</b></p>",
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(send_test_url(message), follow=True)

    assert len(smtp_inbox.envelopes) == 1
    envelope = smtp_inbox.envelopes[0]
    assert envelope.rcpt_tos == [editor.email]
    received = message_from_bytes(envelope.content, policy=policy.default)
    assert received["Subject"].endswith("Hi Ann Editor")
    assert received["Subject"].startswith("[")  # marked as a test
    assert received.get_body(("plain",)).get_content().strip() == f"Plain for {editor.email}"
    assert received.get_body(("html",)).get_content().strip() == "<p>HTML for <b>Ann Editor</b></p>"
    flashes = [str(m) for m in response.context["messages"]]
    assert any(editor.email in flash for flash in flashes)


def test_test_send_only_queues_during_the_request(
    editor_client, make_message, smtp_inbox, django_capture_on_commit_callbacks
):
    message = make_message()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = editor_client.post(send_test_url(message))

    assert response.status_code == 302
    assert smtp_inbox.envelopes == []  # nothing sent inside the request
    assert len(callbacks) == 1  # enqueued once the transaction commits


def test_test_send_is_a_post_only_action(editor_client, make_message):
    message = make_message()

    response = editor_client.get(send_test_url(message))

    assert response.status_code == 405


def test_test_sends_are_limited_per_user_so_a_stuck_button_cannot_flood_the_provider(
    editor_client, make_message, smtp_inbox, django_capture_on_commit_callbacks
):
    from tenant_apps.campaigns.services import TEST_SENDS_PER_WINDOW

    message = make_message()
    editor_client.cookies["django_language"] = "en"

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(TEST_SENDS_PER_WINDOW):
            editor_client.post(send_test_url(message))
        refused = editor_client.post(send_test_url(message), follow=True)

    assert len(smtp_inbox.envelopes) == TEST_SENDS_PER_WINDOW
    flashes = [str(m) for m in refused.context["messages"]]
    assert flashes[-1] == "You have sent 5 tests in the last 10 minutes; please wait a little."
    assert flashes.count(flashes[-1]) == 1
