from __future__ import annotations

import re
from pathlib import Path

import pytest
from csp.exceptions import CSPNonceError
from django.urls import reverse

import reverie

TEMPLATES = Path(reverie.__file__).parent.joinpath("templates")


def test_stylesheet_and_script_are_served_locally(client) -> None:
    page = client.get(reverse("core:landing")).content.decode()
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', page):
        response = client.get(asset)
        assert response.status_code == 200, asset
    assert "http://" not in page.split("<body>")[0] and "https://" not in page.split("<body>")[0]


def test_templates_have_no_inline_script_or_style() -> None:
    """The Content-Security-Policy forbids inline code; a template that used it would break."""
    offenders = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        # JSON data blocks (Django's json_script) are never executed, so CSP allows them.
        inline = re.search(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", text)
        if inline or re.search(r"\sstyle=\"", text):
            offenders.append(template.name)
        if re.search(r"\son[a-z]+=\"", text):
            offenders.append(template.name)
    assert not offenders


def test_demo_banner_shows_on_every_page_of_a_demo_install(client, settings, db) -> None:
    settings.DEMO = True
    for name in ("core:landing", "accounts:login", "accounts:password_reset"):
        assert b"Synthetic demo data" in client.get(reverse(name)).content


def test_no_demo_banner_on_a_real_install(client, db) -> None:
    assert b"Synthetic demo data" not in client.get(reverse("core:landing")).content


def test_healthz_answers_with_database_check(client, db) -> None:
    assert client.get(reverse("core:healthz")).json() == {"status": "ok"}


def _csp_headers(middleware_class: type, path: str, attrs: dict | None = None) -> dict:
    """The CSP headers ``middleware_class`` gives a plain 200 for ``path`` (``attrs`` set
    on the response, as django-csp's decorators set them)."""
    from django.http import HttpResponse
    from django.test import RequestFactory

    request = RequestFactory().get(path)
    middleware = middleware_class(lambda r: HttpResponse("x"))
    middleware.process_request(request)
    response = HttpResponse("x")
    for name, value in (attrs or {}).items():
        setattr(response, name, value)
    middleware.process_response(request, response)
    return {k: v for k, v in response.headers.items() if k.startswith("Content-Security")}


def _django_csp_headers(path: str, attrs: dict | None = None) -> dict:
    from csp.middleware import CSPMiddleware

    return _csp_headers(CSPMiddleware, path, attrs)


def _ours(path: str, attrs: dict | None = None) -> dict:
    from reverie.core.middleware import ContentSecurityPolicyMiddleware

    return _csp_headers(ContentSecurityPolicyMiddleware, path, attrs)


def test_the_policy_built_once_equals_django_csps(client, db, settings) -> None:
    """ContentSecurityPolicyMiddleware builds the header once; it must be the header
    django-csp builds for every response, also after the settings change and for a
    response that asks for its own policy."""
    page = client.get(reverse("core:landing"))
    assert page["Content-Security-Policy"] == _django_csp_headers("/")["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert _ours("/") == _django_csp_headers("/")
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {
        "DIRECTIVES": {"default-src": ["'self'"]},
        "EXCLUDE_URL_PREFIXES": ["/static/"],
    }
    assert _ours("/") == _django_csp_headers("/")
    assert set(_ours("/")) == {"Content-Security-Policy", "Content-Security-Policy-Report-Only"}
    assert _ours("/static/x.css") == _django_csp_headers("/static/x.css")
    assert "Content-Security-Policy-Report-Only" not in _ours("/static/x.css")
    own = {"_csp_update": {"img-src": ["https://example.org"]}}
    assert "https://example.org" in _ours("/", own)["Content-Security-Policy"]
    assert _ours("/", own) == _django_csp_headers("/", own)
    assert _ours("/", {"_csp_exempt": True}) == _django_csp_headers("/", {"_csp_exempt": True})


def test_a_nonce_asked_for_gets_into_the_header(rf, settings) -> None:
    from csp.constants import NONCE, SELF
    from django.http import HttpResponse

    from reverie.core.middleware import ContentSecurityPolicyMiddleware

    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"script-src": [SELF, NONCE]}}
    request = rf.get("/")
    middleware = ContentSecurityPolicyMiddleware(lambda r: HttpResponse("x"))
    middleware.process_request(request)
    nonce = str(request.csp_nonce)
    response = middleware.process_response(request, HttpResponse("x"))
    assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]
    # After the header went out, asking for a nonce is an error, as with django-csp.
    plain = rf.get("/")
    middleware.process_request(plain)
    middleware.process_response(plain, HttpResponse("x"))
    with pytest.raises(CSPNonceError):
        str(plain.csp_nonce)
