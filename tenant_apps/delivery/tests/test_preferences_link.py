"""{{ preferences_url }} in a campaign message: the recipient's own signed preference centre link."""

from django.db import connection

from tenant_apps.delivery import engine, services
from tenant_apps.delivery.unsubscribe import read_token


def test_each_recipient_gets_their_own_preference_centre_link_with_the_unsubscribe_token(
    in_workspace, engine_settings, smtp_server, make_mailing
):
    engine_settings(smtp_server.port)
    mailing = make_mailing(1)
    message = mailing.message
    message.body_text = "Hello. Your lists: {{ preferences_url }} Leave: {{ unsubscribe_url }}"
    message.save()
    client = mailing.subscribed_clients[0]

    for run in services.prepare_due_runs(mailing, workspace=in_workspace):
        engine.process_run(run, in_workspace)

    (_rcpt, sent, _session) = smtp_server.messages[0]
    text = sent.get_body(("plain",)).get_content()
    preferences = text.split("Your lists: ", 1)[1].split()[0]
    unsubscribe = sent["List-Unsubscribe"].strip("<>")
    assert f"//{in_workspace.host}" in preferences and "/p/" in preferences
    token = preferences.rstrip("/").rsplit("/", 1)[1]
    assert read_token(token) == (connection.schema_name, client.pk)
    assert unsubscribe.endswith(f"/u/{token}/"), "one token, both pages"
