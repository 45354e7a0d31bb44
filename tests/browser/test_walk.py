"""The demo practice walked as every role, at desktop and phone size.

The real demo seeding (``ensure_demo``, what ``reverie demo`` runs) fills the test database
once; then a therapist, the practice admin, the client with a questionnaire waiting and an
anonymous visitor each open every page of their day, in a 1280x800 window and on a
390x844 phone. Every page is photographed (``test-artifacts/walk/``) and fails the walk on:

* an HTTP error: the page itself or anything it loads answering 400 or more;
* a console error or an uncaught script error (a Content-Security-Policy refusal is one);
* horizontal overflow: the document wider than the window;
* an empty page: a ``<main>`` with nothing but headings, or a table without rows or a list
  without items, unless the page says why with the empty-state convention every template
  follows, an element of class ``empty`` (``<p class="empty">No entries yet.</p>``).

Before the browser, each page is opened once through Django's test client to check that it
decrypts only the client text it shows (``DECRYPTS``).

The roles are those Reverie has: admin, therapist, client, and the public. There is no
researcher role; de-identified data is the admin's outcomes CSV, which this walk does not
download.

Seeding once and walking everything in one test keeps it to one seeding (about 20 s), not
one per page. The failures a page has today and another change is fixing are in ``KNOWN``
with the reason; the walk fails when any other problem appears and, as a strict xfail does,
when a known one has gone (so the entry is removed).

``python scripts/screenshots.py`` runs this test with ``REVERIE_SCREENSHOTS`` set, which
also writes the main pages (``Stop.gallery``) to ``docs/screenshots/`` for the README.
"""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from reverie.accounts.models import User
from reverie.care.models import Alert, Appointment, Client, ProcessNote, ProgressNote
from reverie.demo.seed import Login, ensure_demo
from reverie.directory.models import ConsultationRequest, TherapistProfile
from reverie.measures.models import Administration, MeasureRequest, RequestStatus
from reverie.process.models import JournalEntry, RecurringTheme, RelationshipEpisode
from reverie.scheduling import openings
from reverie.testing import sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "walk"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
CHECKS = ("http", "console", "overflow", "empty")

#: (role, page, size, check) -> why it fails today and who is fixing it. Keep it short: the
#: walk fails when one of these passes, so the entry goes when the fix lands.
KNOWN: dict[tuple[str, str, str, str], str] = {}


#: What each page may decrypt: the encrypted fields (``Model.field``) whose text it shows.
#: A page that reads a field it does not show looks the client's data key up (a statement
#: per client) and decrypts text for nothing; ``vault.fields.unread`` defers such fields.
#: Pages not named here decrypt nothing. A page that comes to show a field adds it here.
#: Before this table the demo's Today decrypted 455 note plans to show 3, a theme about a
#: thousand values of whole progress notes, and most pages a client's goals.
DECRYPTS: dict[tuple[str, str], set[str]] = {
    **{
        ("therapist", page): {"ProgressNote.plan"}  # the latest plan beside each session
        for page in ("today", "today-week", "today-previous")
    },
    ("therapist", "client"): {"Episode.goals", "Appointment.cancel_reason"},
    ("therapist", "process-note"): {"ProcessNote.text"},
    **{
        ("therapist", page): {
            "ProgressNote.content",
            "ProgressNote.interventions",
            "ProgressNote.plan",
            "ProgressNote.risk_assessment",
        }
        for page in ("progress-note", "progress-note-draft", "progress-note-sign")
    },
    ("therapist", "reflection"): {"SessionReflection.comment"},
    ("therapist", "process"): {
        "JournalEntry.text",
        "JournalEntry.title",
        "RelationshipEpisode.other_person_note",
        "RelationshipEpisode.wish",
    },
    ("therapist", "episode-profile"): {"SessionReflection.comment"},
    **{
        ("therapist", page): {
            "FormulationGroup.label",
            "RelationshipEpisode.response_of_other",
            "RelationshipEpisode.response_of_self",
            "RelationshipEpisode.wish",
        }
        for page in ("ccrt", "ccrt-groups")
    },
    ("therapist", "relationship-episode"): {
        "RelationshipEpisode.narrative",
        "RelationshipEpisode.other_person_note",
        "RelationshipEpisode.response_of_other",
        "RelationshipEpisode.response_of_self",
        "RelationshipEpisode.wish",
    },
    ("therapist", "shared-journal"): {"JournalEntry.text", "JournalEntry.title"},
    ("therapist", "themes"): {"RecurringTheme.label", "RecurringTheme.terms"},
    ("therapist", "theme"): {
        "RecurringTheme.label",
        "RecurringTheme.terms",
        "ThemeEvidence.sentence",
    },
    ("admin", "intake-request"): {
        "ConsultationRequest.message",
        "ConsultationRequest.availability_note",
        "ConsultationRequest.triage_notes",
    },
    ("admin", "retention"): {"ErasureRequest.reason"},
    ("client", "journal"): {"JournalEntry.text", "JournalEntry.title"},
    ("client", "journal-entry"): {"JournalEntry.text", "JournalEntry.title"},
    ("client", "my-space"): {"JournalEntry.title"},
}


@dataclass(frozen=True)
class Stop:
    name: str
    path: str
    #: Written to docs/screenshots/ by scripts/screenshots.py, for the README's gallery.
    gallery: bool = False


@dataclass
class Walker:
    role: str
    login: Login | None
    stops: list[Stop]


# What the page reports; run in the browser after the page has loaded.
INSPECT = """(width) => {
  const main = document.querySelector('main') || document.body;
  const overflow = document.documentElement.scrollWidth;
  const wide = [];
  if (overflow > width) {
    for (const el of document.body.querySelectorAll('*')) {
      const box = el.getBoundingClientRect();
      // scrollWidth counts text running out of an element's box (a long unbroken word).
      const right = getComputedStyle(el).overflowX === 'visible'
        ? box.left + Math.max(box.width, el.scrollWidth) : box.right;
      if (right > width + 1 && box.width > 0) {
        // A scrolling box clips what is inside it, unless it is placed absolutely
        // against something outside the box.
        const placed = getComputedStyle(el).position === 'absolute';
        let hidden = false;
        for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
          const s = getComputedStyle(p);
          if (!placed && s.overflowX !== 'visible'
              && p.getBoundingClientRect().right <= width + 1) {
            hidden = true; break;
          }
        }
        if (!hidden) wide.push([el, right]);
      }
      if (wide.length >= 400) break;
    }
  }
  // Name the innermost culprits, not every box that contains them.
  const culprits = wide.filter(([el]) => !wide.some(([o]) => o !== el && el.contains(o)))
    .slice(0, 4).map(([el, right]) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.className && typeof el.className === 'string'
        ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
      ' (' + Math.round(right) + 'px)');
  const hasEmptyMessage = main.querySelector('.empty') !== null;
  const headings = Array.from(main.querySelectorAll('h1,h2,h3,h4'))
    .map((h) => h.innerText).join(' ');
  const text = main.innerText.replace(/\\s+/g, ' ').trim();
  const bare = text.length <= headings.replace(/\\s+/g, ' ').trim().length + 2
    && main.querySelector('input:not([type=hidden]),select,textarea,svg,img,canvas') === null;
  const hollow = [];
  for (const t of main.querySelectorAll('table')) {
    if (t.querySelectorAll('tbody tr, tr td').length === 0) hollow.push('table');
  }
  for (const l of main.querySelectorAll('ul,ol')) {
    if (l.closest('nav') === null && l.children.length === 0) {
      hollow.push(l.tagName.toLowerCase() + (l.className ? '.' + l.className : ''));
    }
  }
  return {overflow, wide: culprits, hasEmptyMessage, bare, hollow};
}"""


def _plan(logins: list[Login]) -> list[Walker]:
    """Every page of each role's day, on the demo's own data."""
    by_role: dict[str, list[Login]] = {}
    for login in logins:
        by_role.setdefault(login.role, []).append(login)
    waiting_login = next(lg for lg in by_role["client"] if "questionnaire" in lg.note)
    client = Client.objects.get(user__email=waiting_login.email)
    episode = client.episodes.order_by("-start_date").first()
    assert episode is not None
    therapist = episode.therapist
    therapist_login = next(lg for lg in by_role["therapist"] if lg.email == therapist.email)
    note = ProgressNote.objects.filter(episode=episode, signed_at__isnull=False).latest("pk")
    draft = ProgressNote.objects.filter(author=therapist, signed_at__isnull=True).first()
    process_note = ProcessNote.objects.filter(author=therapist).order_by("-pk").first()
    session = (
        Appointment.objects.filter(episode=episode, attendance="attended")
        .order_by("-starts_at")
        .first()
    )
    assert session is not None
    shared = JournalEntry.objects.filter(client=client, shared_at__isnull=False).latest("pk")
    relationship = RelationshipEpisode.objects.filter(client=client).latest("pk")
    theme = RecurringTheme.objects.filter(client__episodes__therapist=therapist).first()
    theme_client = theme.client_id if theme is not None else client.pk
    result = Administration.objects.filter(client=client).latest("completed_at")
    waiting = MeasureRequest.objects.filter(client=client, status=RequestStatus.OPEN).first()
    assert waiting is not None
    own_entry = JournalEntry.objects.filter(client=client).latest("pk")
    intake = ConsultationRequest.objects.filter(practice=client.practice).latest("pk")
    profile = TherapistProfile.objects.filter(user=therapist).first()
    assert profile is not None
    # A time the therapist's profile offers, as its booking buttons link to.
    opening = openings.consultation_times(profile, client.practice, now=timezone.now())[0]
    assert Alert.objects.filter(client__practice=client.practice).exists()

    therapist_stops = [
        Stop("today", "/today/", gallery=True),
        Stop("today-week", "/today/?view=week", gallery=True),
        # the day before: Today moves through the days (a weekend is no longer a dead end)
        Stop("today-previous", f"/today/?day={timezone.localdate() - datetime.timedelta(days=1)}"),
        Stop("caseload", "/caseload/", gallery=True),
        Stop("clients", "/clients/"),
        # searching as the list shows names: the first letters of the family name
        Stop("client-search", f"/clients/?q={quote(client.family_name[:3])}"),
        Stop("client", f"/clients/{client.pk}/", gallery=True),
        Stop("progress-note", f"/notes/{note.pk}/", gallery=True),
        Stop("reflection", f"/process/sessions/{session.pk}/reflect/"),
        Stop("process", f"/process/clients/{client.pk}/", gallery=True),
        Stop("episode-profile", f"/process/episodes/{episode.pk}/profile/"),
        Stop("my-technique", "/process/profile/"),
        Stop("ccrt", f"/process/clients/{client.pk}/ccrt/", gallery=True),
        Stop("ccrt-groups", f"/process/clients/{client.pk}/ccrt/groups/"),
        Stop("relationship-episode", f"/process/relationship-episodes/{relationship.pk}/"),
        Stop("shared-journal", f"/process/shared/{shared.pk}/"),
        Stop("themes", f"/process/clients/{theme_client}/themes/", gallery=True),
        Stop("alerts", "/alerts/", gallery=True),
        Stop("measurement", f"/measures/clients/{client.pk}/", gallery=True),
        Stop("questionnaire-result", f"/measures/results/{result.pk}/"),
        Stop("outcomes", "/outcomes/", gallery=True),
        Stop("trajectory", f"/outcomes/clients/{client.pk}/", gallery=True),
        Stop("paperwork-client", f"/paperwork/clients/{client.pk}/"),
        Stop("calendar", "/calendar/"),
        Stop("my-profile", "/profile/"),
        Stop("instruments", "/measures/instruments/"),
    ]
    if draft is not None:
        therapist_stops.insert(6, Stop("progress-note-draft", f"/notes/{draft.pk}/"))
        # "Sign and lock" asks first and says that signing is final
        therapist_stops.insert(7, Stop("progress-note-sign", f"/notes/{draft.pk}/sign/"))
    if process_note is not None:
        therapist_stops.insert(6, Stop("process-note", f"/process-notes/{process_note.pk}/"))
    if theme is not None:
        therapist_stops.append(Stop("theme", f"/process/themes/{theme.pk}/"))
    admin_stops = [
        Stop("overview", "/practice/overview/", gallery=True),
        Stop("audit", "/practice/audit/", gallery=True),
        Stop("intake", "/practice/intake/", gallery=True),
        Stop("intake-request", f"/practice/intake/{intake.pk}/"),
        Stop("alerts", "/alerts/"),
        Stop("outcomes", "/outcomes/"),
        Stop("clients", "/clients/"),
        Stop("people", "/practice/users/"),
        Stop("date-format", "/practice/date-format/", gallery=True),
        Stop("retention", "/records/retention/", gallery=True),
        Stop("backups", "/practice/backups/", gallery=True),
        Stop("paperwork", "/paperwork/forms/", gallery=True),
        Stop("outgoing-mail", "/practice/outgoing-mail/"),
        Stop("grants", "/practice/grants/"),
        Stop("directory-profiles", "/practice/directory/"),
        Stop("front-door-pages", "/practice/pages/"),
        Stop("ccrt-categories", "/process/categories/"),
    ]
    client_stops = [
        Stop("my-space", "/me/", gallery=True),
        Stop("questionnaires", "/measures/"),
        Stop("questionnaire", f"/measures/r/{waiting.pk}/", gallery=True),
        Stop("my-progress", "/outcomes/me/", gallery=True),
        Stop("journal", "/process/journal/", gallery=True),
        Stop("journal-entry", f"/process/journal/{own_entry.pk}/"),
        Stop("journal-new", "/process/journal/new/"),
        Stop("forms", "/paperwork/"),
    ]
    public_stops = [
        Stop("front-door", "/", gallery=True),
        Stop("learn", "/learn/"),
        Stop("self-check", "/self-check/", gallery=True),
        Stop("directory", "/therapists/", gallery=True),
        Stop("therapist", f"/therapists/{profile.pk}/"),
        Stop("book", f"/therapists/{profile.pk}/book/?at={quote(opening.isoformat())}"),
        Stop("consultation", "/consultation/"),
        Stop("sign-in", "/accounts/login/"),
    ]
    return [
        Walker("therapist", therapist_login, therapist_stops),
        Walker("admin", by_role["admin"][0], admin_stops),
        Walker("client", waiting_login, client_stops),
        Walker("public", None, public_stops),
    ]


def _sign_in(page, base: str, login: Login) -> None:
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(login.email)
    page.get_by_label("Password").fill(login.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def _visit(page, base: str, stop: Stop, width: int, errors: list[str]) -> dict[str, str]:
    """Open one page; return the failed checks with what was seen."""
    errors.clear()
    response = page.goto(base + stop.path)
    page.wait_for_load_state("networkidle")
    failed: dict[str, str] = {}
    status = response.status if response is not None else 0
    http = [e for e in errors if e.startswith("HTTP")]
    if status >= 400 or http:
        failed["http"] = f"status {status}; " + "; ".join(http)
    console = [e for e in errors if not e.startswith("HTTP")]
    if console:
        failed["console"] = "; ".join(console)[:400]
    seen = page.evaluate(INSPECT, width)
    if seen["overflow"] > width:
        failed["overflow"] = f"{seen['overflow']}px wide: " + ", ".join(seen["wide"])
    if not seen["hasEmptyMessage"] and (seen["bare"] or seen["hollow"]):
        what = "nothing but headings" if seen["bare"] else "empty " + ", ".join(seen["hollow"])
        failed["empty"] = f"{what}, and no element of class 'empty' says why"
    return failed


def _listen(page, errors: list[str]) -> None:
    def on_console(message) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text}")

    def on_response(response) -> None:
        if response.status >= 400:
            errors.append(f"HTTP {response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"script error: {exc}"))
    page.on("response", on_response)


def _gallery_writer() -> Callable[[object, str], None] | None:
    """With REVERIE_SCREENSHOTS=<folder>, the main pages go there as window-sized PNGs,
    reduced to 256 colours when Pillow is present (UI screenshots lose nothing visible)."""
    target = os.environ.get("REVERIE_SCREENSHOTS")
    if not target:
        return None
    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)

    def write(page, name: str) -> None:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        try:
            from PIL import Image
        except ImportError:
            return
        with Image.open(path) as image:
            small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        small.save(path, optimize=True)

    return write


def _decrypted_but_not_shown(walkers: list[Walker], decryptions) -> list[str]:
    """Each page opened through Django's test client, with what it decrypted beyond its
    entry in ``DECRYPTS``."""
    found = []
    for walker in walkers:
        http = HttpClient()
        if walker.login is not None:
            sign_in(http, User.objects.get(email=walker.login.email))
        for stop in walker.stops:
            decryptions.clear()
            status = http.get(stop.path).status_code
            extra = set(decryptions) - DECRYPTS.get((walker.role, stop.name), set())
            if status != 200 or extra:
                found.append(f"{walker.role}/{stop.name}: {status}, decrypts {sorted(extra)}")
    return found


def test_the_demo_walked_as_every_role_at_desktop_and_phone_size(
    browser, live_server, settings, tmp_path, decryptions
) -> None:
    settings.DATA_DIR = tmp_path
    started = time.monotonic()
    logins, summary = ensure_demo(timezone.localdate())
    seeded_in = time.monotonic() - started
    assert summary is not None
    walkers = _plan(logins)
    # Before the browser: what each page decrypts, against what it shows.
    hidden = _decrypted_but_not_shown(walkers, decryptions)
    assert not hidden, "pages decrypt text they do not show:\n" + "\n".join(hidden)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    gallery = _gallery_writer()
    found: dict[tuple[str, str, str, str], str] = {}
    pages = 0
    for size, (width, height) in SIZES.items():
        for walker in walkers:
            context = browser.new_context(
                viewport={"width": width, "height": height},
                is_mobile=size == "phone",
                has_touch=size == "phone",
            )
            page = context.new_page()
            page.set_default_timeout(15_000)
            errors: list[str] = []
            _listen(page, errors)
            if walker.login is not None:
                _sign_in(page, live_server.url, walker.login)
            for stop in walker.stops:
                failed = _visit(page, live_server.url, stop, width, errors)
                pages += 1
                for check, why in failed.items():
                    found[(walker.role, stop.name, size, check)] = why
                name = f"{walker.role}-{stop.name}-{size}"
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                if gallery is not None and stop.gallery:
                    gallery(page, name)
            context.close()
    print(f"\nwalk: seeded in {seeded_in:.1f} s, {pages} pages walked")
    new = {key: why for key, why in found.items() if key not in KNOWN}
    gone = [key for key in KNOWN if key not in found]
    report = [f"{'/'.join(key)}: {why}" for key, why in sorted(new.items())]
    report += [f"{'/'.join(key)} passes now: remove it from KNOWN" for key in gone]
    assert not report, "\n".join(report)


def test_the_walks_checks_catch_what_they_look_for(browser) -> None:
    """The page inspection finds an empty table without a message, a bare page, and a
    box wider than a phone; a message of class ``empty`` answers for the emptiness."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.set_content("<main><h1>Alerts</h1><table><tbody></tbody></table><ul></ul></main>")
        seen = page.evaluate(INSPECT, 390)
        assert seen["hollow"] == ["table", "ul"] and not seen["hasEmptyMessage"]
        page.set_content("<main><h1>Journal</h1></main>")
        assert page.evaluate(INSPECT, 390)["bare"]
        page.set_content('<main><h1>Journal</h1><p class="empty">No entries yet.</p></main>')
        assert page.evaluate(INSPECT, 390)["hasEmptyMessage"]
        page.set_content('<main><h1>Wide</h1><pre id="wide">' + "x" * 200 + "</pre></main>")
        seen = page.evaluate(INSPECT, 390)
        assert seen["overflow"] > 390 and seen["wide"][0].startswith("pre#wide")
    finally:
        context.close()
