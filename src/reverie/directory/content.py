"""Psychoeducation pages: shipped text, a practice's own edits, and safe Markdown rendering.

The shipped pages are Markdown files in ``directory/content/`` (one per slug in :data:`PAGES`),
each starting with ``title:`` and ``summary:`` lines and a blank line. A practice admin may
replace any page with the practice's own text (:class:`~reverie.directory.models.EducationPage`);
removing that text brings the shipped page back.

Rendering is deliberately strict, because an admin's text is shown to the public: raw HTML in
the Markdown is not rendered, the output is sanitised with nh3, links may only point inside the
site (relative paths and ``#`` anchors) or be ``mailto:`` and ``tel:`` links, images are
dropped (the site loads nothing from elsewhere), and a first-level heading in the text becomes a
second-level one, so the page keeps a single ``<h1>``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

import nh3
from markdown_it import MarkdownIt

from reverie.accounts.models import Practice
from reverie.directory.models import EducationPage

__all__ = ["PAGES", "PageText", "all_pages", "page_for", "parse", "render", "shipped"]

#: The psychoeducation pages, in reading order.
PAGES: Final[tuple[str, ...]] = (
    "what-is-psychodynamic-therapy",
    "what-sessions-are-like",
    "how-long-it-lasts",
    "psychoanalysis-and-cbt",
    "what-it-can-help-with",
    "what-the-evidence-says",
)

_TAGS: Final = frozenset(
    {
        "a", "abbr", "blockquote", "br", "code", "em", "h2", "h3", "h4", "h5", "h6", "hr",
        "li", "ol", "p", "pre", "strong", "ul",
    }
)  # fmt: skip
_SCHEMES: Final = frozenset({"mailto", "tel"})


@dataclass(frozen=True)
class PageText:
    """One page as shown: the practice's version if it has one, else the shipped text."""

    slug: str
    title: str
    summary: str
    body: str
    edited: bool = False
    updated_at: dt.datetime | None = None

    @property
    def html(self) -> str:
        return render(self.body)


def parse(text: str, *, slug: str = "page") -> tuple[str, str, str]:
    """Split a shipped file into (title, summary, body); ValueError names what is missing."""
    head, sep, body = text.partition("\n\n")
    fields: dict[str, str] = {}
    for line in head.splitlines():
        key, colon, value = line.partition(":")
        if colon:
            fields[key.strip().lower()] = value.strip()
    if not sep or not fields.get("title") or not fields.get("summary") or not body.strip():
        raise ValueError(f"{slug}: a page needs title: and summary: lines, a blank line, a body")
    return fields["title"], fields["summary"], body.strip() + "\n"


@cache
def shipped(slug: str) -> PageText:
    """The page as Reverie ships it. KeyError for an unknown slug."""
    if slug not in PAGES:
        raise KeyError(slug)
    source = resources.files("reverie.directory").joinpath("content", f"{slug}.md")
    title, summary, body = parse(source.read_text(encoding="utf-8"), slug=slug)
    return PageText(slug, title, summary, body)


def _from_row(row: EducationPage) -> PageText:
    return PageText(row.slug, row.title, row.summary, row.body, True, row.updated_at)


def page_for(practice: Practice | None, slug: str) -> PageText:
    """The page this practice shows; KeyError for an unknown slug."""
    page = shipped(slug)
    if practice is not None:
        row = EducationPage.objects.filter(practice=practice, slug=slug).first()
        if row is not None:
            return _from_row(row)
    return page


def all_pages(practice: Practice | None) -> list[PageText]:
    """Every page in reading order, with the practice's own versions, in one query."""
    rows = {}
    if practice is not None:
        rows = {r.slug: r for r in EducationPage.objects.filter(practice=practice)}
    return [_from_row(rows[s]) if s in rows else shipped(s) for s in PAGES]


@cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": True})
    md.enable(["replacements", "smartquotes"])
    md.disable("image")
    return md


def _safe_href(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        scheme = value.split(":", 1)[0].lower() if ":" in value.split("/", 1)[0] else ""
        if scheme in _SCHEMES:
            return value
        if scheme or value.startswith("//"):
            return None
    return value


def render(markdown: str) -> str:
    """Markdown to sanitised HTML (see the module docstring for what survives).

    >>> print(render("# Title\\n\\n[in](/learn/), [out](https://x.example)"))
    <h2>Title</h2>
    <p><a href="/learn/" rel="noopener noreferrer">in</a>, <a rel="noopener noreferrer">out</a></p>
    <BLANKLINE>
    """
    md = _markdown()
    tokens = md.parse(markdown)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{max(int(token.tag[1]), 2)}"
    html = md.renderer.render(tokens, md.options, {})
    return nh3.clean(
        html,
        tags=set(_TAGS),
        attributes={"a": {"href", "title"}, "abbr": {"title"}, "ol": {"start"}},
        attribute_filter=_safe_href,
        url_schemes=set(_SCHEMES),
        link_rel="noopener noreferrer",
    )
