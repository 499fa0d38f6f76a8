"""A Content-Security-Policy on every page: scripts only from our origin or with the request's nonce."""

import re
from pathlib import Path

import pytest
from django_tenants.utils import schema_context

from conftest import host_client

ROOT = Path(__file__).resolve().parents[2]
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def directives(response):
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


def inline_scripts_without_nonce(html):
    """<script> elements that would run inline code without a nonce (data blocks do not run)."""
    found = []
    for attributes in SCRIPT_TAG.findall(html):
        if "src=" in attributes or "nonce=" in attributes or 'type="application/json"' in attributes:
            continue
        found.append(attributes)
    return found


@pytest.fixture
def member_client(workspace, member_factory):
    return host_client(workspace.host, member_factory(workspace, "owner"))


@pytest.mark.parametrize(
    "host, path",
    [
        ("localhost", "/"),
        ("localhost", "/accounts/login/"),
        ("localhost", "/blog/"),
        ("localhost", "/no-such-page/"),
        ("nowhere.localhost", "/"),  # no such workspace: the 404 comes from host routing
        ("acme.localhost", "/"),  # anonymous: the redirect to sign in
    ],
)
def test_every_page_has_a_policy_with_a_script_nonce(db, host, path):
    response = host_client(host).get(path)

    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert any(source.startswith("'nonce-") for source in policy["script-src"])


def test_each_request_gets_its_own_nonce(db):
    nonces = {directives(host_client("localhost").get("/"))["script-src"][1] for _ in range(3)}

    assert len(nonces) == 3


def test_the_nonce_is_offered_to_templates_as_request_csp_nonce(db, rf):
    from django.template import Context, Template

    from saas.csp import ContentSecurityPolicyMiddleware

    def view(request):
        from django.http import HttpResponse

        html = Template('<script nonce="{{ request.csp_nonce }}">1</script>').render(Context({"request": request}))
        return HttpResponse(html)

    response = ContentSecurityPolicyMiddleware(view)(rf.get("/"))

    nonce = re.search(r'nonce="([^"]+)"', response.content.decode()).group(1)
    assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]


def test_forms_may_post_to_the_public_site_and_the_workspaces_on_the_site_url_port(db, settings):
    settings.SITE_URL = "http://localhost:8123"

    policy = directives(host_client("localhost").get("/"))

    assert policy["form-action"] == ["'self'", "http://localhost:8123", "http://*.localhost:8123"]


@pytest.mark.parametrize(
    "path", ["/", "/clients/", "/messages/", "/mailings/", "/mailings/new/", "/delivery/", "/workspace/members/"]
)
def test_workspace_pages_carry_no_inline_script_or_handler(member_client, path):
    response = member_client.get(path)

    assert response.status_code == 200
    html = response.content.decode()
    assert inline_scripts_without_nonce(html) == []
    assert INLINE_HANDLER.findall(html) == []


@pytest.mark.parametrize(
    "path, signed_in",
    [
        ("/", False),
        ("/accounts/login/", False),
        ("/accounts/signup/", False),
        ("/workspaces/new/", True),
        ("/profile/", True),
    ],
)
def test_public_pages_carry_no_inline_script_or_handler(db, user_factory, path, signed_in):
    response = host_client("localhost", user_factory() if signed_in else None).get(path)

    assert response.status_code == 200
    html = response.content.decode()
    assert inline_scripts_without_nonce(html) == []
    assert INLINE_HANDLER.findall(html) == []


def template_files():
    dirs = [ROOT / "templates", *ROOT.glob("*/*/templates"), *ROOT.glob("*/templates")]
    return sorted({path for folder in dirs for path in folder.rglob("*.html")})


def test_no_template_has_an_inline_script_without_a_nonce_or_an_event_handler_attribute():
    offenders = []
    for path in template_files():
        html = path.read_text()
        if inline_scripts_without_nonce(html) or INLINE_HANDLER.search(html) or "javascript:" in html:
            offenders.append(str(path.relative_to(ROOT)))

    assert len(template_files()) > 50
    assert offenders == []


def test_the_message_preview_iframe_keeps_its_sandbox_under_the_policy(workspace, member_client):
    from tenant_apps.campaigns.models import Message

    with schema_context(workspace.schema_name):
        message = Message.objects.create(subject="Hi", body_text="Hi", body_html="<p>Hi <b>there</b></p>")

    response = member_client.get(f"/messages/{message.pk}/")

    html = response.content.decode()
    assert re.search(r'<iframe sandbox="" srcdoc="[^"]*there', html)
    assert "Content-Security-Policy" in response
