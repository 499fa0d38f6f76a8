import pytest

from tenant_apps.campaigns.rendering import CompiledMessage, render_for_client, unknown_placeholders


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


@pytest.mark.parametrize(
    ("subject", "text", "html"),
    [
        ("Hi {{name}}\n!", "Dear {{ name }} ({{ email }}), leave: {{ unsubscribe_url }}", "<p>{{ name }}</p>"),
        ("{{ phone }} {{name}}", "{{ <odd> }} {{email}}{{email}}", "<a href='{{ unsubscribe_url }}'>{{ x&y }}</a>"),
        ("", "no placeholders", ""),
        ("{{ name }}", "", None),
    ],
)
def test_a_compiled_message_renders_exactly_as_render_for_client(subject, text, html):
    values = {"name": "Ann <Lee> & \"Co\" 'x'", "email": "ann@example.com", "unsubscribe_url": "http://a/u/?a=1&b=2"}

    compiled = CompiledMessage(subject, text, html).render(**values)

    assert compiled == render_for_client(subject, text, html, **values)


def test_a_compiled_message_fills_each_recipient_anew():
    compiled = CompiledMessage("Hi {{ name }}", "{{ email }}", "")

    first = compiled.render(name="Ann", email="ann@example.com", unsubscribe_url="u1")
    second = compiled.render(name=None, email="bob@example.com", unsubscribe_url="u2")

    assert first == ("Hi Ann", "ann@example.com", "")
    assert second == ("Hi ", "bob@example.com", "")
