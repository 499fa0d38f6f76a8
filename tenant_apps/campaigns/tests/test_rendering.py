from tenant_apps.campaigns.rendering import render_for_client, unknown_placeholders


def test_placeholders_are_filled_for_the_recipient():
    subject, text, html = render_for_client(
        "Hi {{name}}",
        "Dear {{ name }} ({{ email }}), leave: {{ unsubscribe_url }}",
        "<p>{{ name }}</p>",
        name="Ann <Lee>",
        email="ann@example.com",
        unsubscribe_url="http://acme.localhost/u/t/",
    )

    assert subject == "Hi Ann <Lee>"
    assert text == "Dear Ann <Lee> (ann@example.com), leave: http://acme.localhost/u/t/"
    assert html == "<p>Ann &lt;Lee&gt;</p>"


def test_unknown_placeholders_are_reported():
    assert unknown_placeholders("{{ name }} {{ nmae }}", "{{ phone }}") == ["nmae", "phone"]
    assert unknown_placeholders("{{ name }} {{email}}") == []
