"""A Content-Security-Policy header on every response, with a fresh script nonce per request.

Scripts run only from our own origin (static files) or from an inline
`<script nonce="{{ request.csp_nonce }}">`; no inline event handler or
`javascript:` URL runs. Styles may be inline: message HTML (shown in the
sandboxed preview iframe, which inherits this policy) lives on inline
styles, as email does. Images may come from https: for the same reason.
Forms may post, and be redirected after posting, to the public site and
the workspace hosts (signing out of a workspace lands on the public site;
creating a workspace lands on the new one).
"""

import secrets
from urllib.parse import urlsplit

from django.conf import settings


def site_origins() -> str:
    """The public site's origin and the workspaces' wildcard, from SITE_URL."""
    parts = urlsplit(settings.SITE_URL)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{settings.BASE_DOMAIN}{port} {parts.scheme}://*.{settings.BASE_DOMAIN}{port}"


def policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: https:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
            f"form-action 'self' {site_origins()}",
        ]
    )


class ContentSecurityPolicyMiddleware:
    """Sets `request.csp_nonce` and the policy header (unless a view set its own)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(16)
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", policy(request.csp_nonce))
        return response
