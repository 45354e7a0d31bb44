"""Psychoeducation pages: shipped text with sources, practice edits, safe rendering."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import Resolver404, resolve, reverse

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.directory import actions, content
from reverie.directory.models import EducationPage
from reverie.testing import World

DOCS = Path(__file__).resolve().parents[2] / "docs" / "frontdoor.md"
#: Finds "Shedler 2010", "Blagys & Hilsenroth 2000", "Swift et al. 2018" and
#: "Steinert and colleagues (2017)".
CITATION = re.compile(
    r"([A-Z][a-zA-Z]+)(?: et al\.| & [A-Z][a-zA-Z]+| and colleagues)? \(?(\d{4})\b"
)


@pytest.mark.parametrize("slug", content.PAGES)
def test_every_shipped_page_has_a_title_summary_and_sources(slug: str) -> None:
    page = content.shipped(slug)
    assert page.title and page.summary
    assert "## Sources" in page.body
    sources = page.body.split("## Sources", 1)[1]
    assert sources.count("\n- ") >= 2, f"{slug} cites fewer than two sources"


@pytest.mark.parametrize("slug", content.PAGES)
def test_every_citation_in_the_text_is_listed_under_sources(slug: str) -> None:
    text, sources = content.shipped(slug).body.split("## Sources", 1)
    cited = set(CITATION.findall(text))
    assert cited, f"{slug} cites nothing in its text"
    for author, year in cited:
        assert re.search(rf"{author}\b.*\({year}\)", sources), f"{slug}: {author} {year} unlisted"


@pytest.mark.parametrize("slug", content.PAGES)
def test_links_in_shipped_pages_lead_to_pages_of_this_site(slug: str) -> None:
    for href in re.findall(r"\]\(([^)]+)\)", content.shipped(slug).body):
        assert href.startswith("/"), f"{slug} links outside the site: {href}"
        try:
            resolve(href)
        except Resolver404:
            pytest.fail(f"{slug} links to {href}, which does not exist")


def test_the_docs_describe_every_page() -> None:
    docs = DOCS.read_text()
    missing = [slug for slug in content.PAGES if f"`{slug}`" not in docs]
    assert not missing, f"pages missing from docs/frontdoor.md: {missing}"


def test_parse_names_what_is_missing() -> None:
    with pytest.raises(ValueError, match="title"):
        content.parse("summary: only\n\nbody", slug="x")
    with pytest.raises(ValueError, match="title"):
        content.parse("title: T\nsummary: S\n", slug="x")


def test_rendering_drops_raw_html_scripts_images_and_outside_links() -> None:
    html = content.render(
        "<script>alert(1)</script>\n\n"
        "Hello <b onclick='x()'>there</b> ![pic](https://cdn.example/a.png)\n\n"
        "[in](/learn/) [out](https://example.org) [mail](mailto:a@b.example) "
        "[js](javascript:alert(1))"
    )
    # Raw HTML is shown as text, never rendered as elements.
    assert re.search(r"<(script|b|img)\b", html) is None
    assert re.search(r"<[^>]*onclick", html) is None
    assert 'href="/learn/"' in html and 'href="mailto:a@b.example"' in html
    assert "example.org" not in html and 'href="javascript' not in html


def test_headings_stay_below_the_page_title_so_the_page_keeps_one_h1() -> None:
    html = content.render("# One\n\n## Two\n\n### Three")
    assert "<h1" not in html
    assert "<h2>One</h2>" in html and "<h2>Two</h2>" in html and "<h3>Three</h3>" in html


def test_learn_pages_show_the_shipped_text(client, db) -> None:
    page = client.get(reverse("directory:learn_page", args=["what-is-psychodynamic-therapy"]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Seven things psychodynamic therapists do" in text
    assert "Blagys, M. D., &amp; Hilsenroth" in text
    assert client.get(reverse("directory:learn_page", args=["no-such-page"])).status_code == 404


def test_admin_replaces_a_page_and_the_public_sees_it(public: World, as_user, client) -> None:
    admin = as_user("admin")
    url = reverse("directory:page_edit", args=["how-long-it-lasts"])
    assert "Brief therapy" in admin.get(url).content.decode()
    before = AuditEntry.objects.count()
    response = admin.post(
        url,
        {"title": "How long therapy takes here", "summary": "Our way.", "body": "We agree it.\n"},
    )
    assert response.status_code == 302
    row = EducationPage.objects.get(practice=public.practice, slug="how-long-it-lasts")
    entries = list(AuditEntry.objects.order_by("seq")[before:])
    assert [(e.action, e.object_type, e.object_id, e.detail) for e in entries] == [
        ("create", "directory.educationpage", str(row.pk), {"slug": "how-long-it-lasts"})
    ]
    assert entries[0].actor == public.admin
    shown = client.get(reverse("directory:learn_page", args=["how-long-it-lasts"])).content
    assert b"How long therapy takes here" in shown and b"Brief therapy" not in shown
    index = client.get(reverse("directory:learn")).content
    assert b"Our way." in index


def test_resetting_a_page_brings_back_the_shipped_text(public: World, as_user, client) -> None:
    ctx = trail.Context(user=public.admin)
    actions.save_education_page(
        ctx, public.practice, "what-sessions-are-like", title="T", summary="S", body="B"
    )
    row_id = EducationPage.objects.get().pk
    admin = as_user("admin")
    before = AuditEntry.objects.count()
    response = admin.post(reverse("directory:page_reset", args=["what-sessions-are-like"]))
    assert response.status_code == 302
    assert not EducationPage.objects.exists()
    [entry] = AuditEntry.objects.order_by("seq")[before:]
    assert (entry.action, entry.object_type, entry.object_id) == (
        "delete",
        "directory.educationpage",
        str(row_id),
    )
    shown = client.get(reverse("directory:learn_page", args=["what-sessions-are-like"])).content
    assert b"The shape of a session" in shown


def test_an_empty_page_is_refused_and_nothing_changes(public: World, as_user) -> None:
    url = reverse("directory:page_edit", args=["how-long-it-lasts"])
    response = as_user("admin").post(url, {"title": "", "summary": "", "body": ""})
    assert response.status_code == 400
    assert not EducationPage.objects.exists()


def test_one_practice_edits_never_show_for_another(public: World, as_user) -> None:
    actions.save_education_page(
        trail.Context(user=public.admin),
        public.practice,
        "how-long-it-lasts",
        title="Harbour only",
        summary="S",
        body="B",
    )
    stranger_view = as_user("stranger").get(
        reverse("directory:learn_page", args=["how-long-it-lasts"])
    )
    assert b"Harbour only" not in stranger_view.content


def test_only_an_admin_of_the_practice_may_edit_pages(world: World) -> None:
    with pytest.raises(actions.DirectoryActionError):
        actions.save_education_page(
            trail.Context(user=world.therapist),
            world.practice,
            "how-long-it-lasts",
            title="T",
            summary="S",
            body="B",
        )
    with pytest.raises(actions.DirectoryActionError):
        actions.save_education_page(
            trail.Context(user=world.stranger_admin),
            world.practice,
            "how-long-it-lasts",
            title="T",
            summary="S",
            body="B",
        )
