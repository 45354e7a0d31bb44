from __future__ import annotations

import re
from pathlib import Path

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
