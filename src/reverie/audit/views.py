"""The practice admin's view of the audit trail: who did what, to which client, when and
from where, in plain words; filtered, paged and exported as CSV."""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Count, Max, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from reverie.accounts.models import Practice, Role, User
from reverie.audit import describe, names, trail
from reverie.audit.forms import AuditFilter
from reverie.audit.models import Action, AuditEntry, TrailCheck
from reverie.core.decorators import role_required, signed_in_user
from reverie.lib import dates

PAGE_SIZE = 50
# The CSV keeps a sortable, unambiguous time that spreadsheets read as one; the page writes
# it the practice's way (reverie.lib.dates).
CSV_WHEN_FORMAT = "%Y-%m-%d %H:%M:%S"
# A worker that runs keeps these fresh (audit/jobs.py); older means it has stopped.
VERIFY_STALE = datetime.timedelta(days=2)
CHECKPOINT_STALE = datetime.timedelta(hours=3)


@dataclass(frozen=True)
class Row:
    seq: int
    when: str
    at: datetime.datetime
    who: str
    role: str
    what: str
    client: str
    ip: str
    object_type: str
    object_id: str


@dataclass
class Setting:
    """What both the page and the export need, each fetched once."""

    user: User
    practice: Practice
    people: dict[int, User]
    clients: dict[int, str]
    form: AuditFilter

    def entries(self) -> QuerySet[AuditEntry]:
        """The practice's entries under the filters; none when the filters are invalid."""
        entries = AuditEntry.objects.filter(practice_id=self.practice.pk)
        if self.form.is_bound:
            if not self.form.is_valid():
                return entries.none()
            entries = entries.filter(self.form.filters(self.practice.zone))
        return entries.select_related("actor").order_by("-seq")

    def rows(self, entries: Iterable[AuditEntry]) -> Iterator[Row]:
        zone = self.practice.zone
        for entry in entries:
            at = timezone.localtime(entry.at, zone)
            who, role = describe.who(entry)
            client = ""
            if entry.client_id is not None:
                client = self.clients.get(entry.client_id, f"client #{entry.client_id}")
            yield Row(
                seq=entry.seq,
                when=dates.format_datetime(at, seconds=True, zone=zone),
                at=at,
                who=who,
                role=role,
                what=describe.what(entry, self.people),
                client=client,
                ip=entry.ip or "",
                object_type=entry.object_type,
                object_id=entry.object_id,
            )


def _setting(request: HttpRequest) -> Setting:
    user = signed_in_user(request)
    practice = user.practice
    people = list(User.objects.filter(practice_id=practice.pk).order_by("full_name", "email"))
    clients = names.clients_visible_to(user)
    form = AuditFilter(_filters_only(request.GET) or None, people=people, clients=clients)
    return Setting(user, practice, {p.pk: p for p in people}, clients, form)


def _filters_only(query: Any) -> dict[str, str]:
    """The filter fields of the query string; paging alone does not bind the form."""
    return {k: query[k] for k in AuditFilter.base_fields if query.get(k)}


def _checks(zone: datetime.tzinfo) -> dict[str, Any]:
    """The latest verification and checkpoint, when (in the practice's zone), and whether
    they are recent enough for a worker that runs."""
    now = timezone.now()
    found: dict[str, Any] = {}
    for kind, name, stale in (
        (TrailCheck.Kind.VERIFY, "verified", VERIFY_STALE),
        (TrailCheck.Kind.CHECKPOINT, "checkpoint", CHECKPOINT_STALE),
    ):
        check = TrailCheck.objects.filter(kind=kind).order_by("-at").first()
        found[name] = check
        found[f"{name}_at"] = (
            dates.format_datetime(check.at, seconds=True, zone=zone) if check else ""
        )
        found[f"{name}_stale"] = check is not None and now - check.at > stale
    return found


def _page(request: HttpRequest, setting: Setting, status: int = 200) -> HttpResponse:
    page = Paginator(setting.entries(), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(setting.rows(page))
    trail.record(
        trail.context(request),
        Action.LIST,
        object_type="audit.auditentry",
        detail={
            "page": page.number,
            "entries": [row.seq for row in rows],
            "filters": setting.form.identifiers() if setting.form.is_valid() else {},
        },
    )
    query = _filters_only(request.GET)
    return render(
        request,
        "audit/browse.html",
        {
            "form": setting.form,
            "page": page,
            "rows": rows,
            "zone": setting.practice.time_zone or "UTC",
            "query": urlencode(query),
            **_checks(setting.practice.zone),
        },
        status=status,
    )


@role_required(Role.ADMIN)
def browse(request: HttpRequest) -> HttpResponse:
    return _page(request, _setting(request))


class _Echo:
    """A file-like object that hands back what is written, so csv.writer can feed a
    streaming response row by row (the pattern of Django's documentation)."""

    def write(self, value: str) -> str:
        return value


def _cell(value: object) -> str:
    """Text that a spreadsheet will not run as a formula (OWASP, "CSV Injection")."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@role_required(Role.ADMIN)
def export_csv(request: HttpRequest) -> HttpResponse:
    setting = _setting(request)
    if setting.form.is_bound and not setting.form.is_valid():
        return _page(request, setting, status=400)
    entries = setting.entries()
    # The export covers the trail as it stands now; entries added while it streams (its
    # own audit entry among them) are left out, so the count below is what it contains.
    bounds = entries.order_by().aggregate(top=Max("seq"), rows=Count("id"))
    trail.record(
        trail.context(request),
        Action.EXPORT,
        object_type="audit.auditentry",
        detail={
            "export": "audit_trail_csv",
            "rows": bounds["rows"],
            "filters": setting.form.identifiers() if setting.form.is_bound else {},
        },
    )
    upto = entries.filter(seq__lte=bounds["top"] or 0)
    zone = setting.practice.time_zone or "UTC"
    header = [
        "Entry",
        f"When ({zone})",
        "Who",
        "Role",
        "What",
        "Client",
        "From",
        "Object type",
        "Object id",
    ]

    def lines() -> Iterator[str]:
        writer = csv.writer(_Echo())
        yield writer.writerow(header)
        for row in setting.rows(upto.iterator(chunk_size=2000)):
            yield writer.writerow(
                [
                    row.seq,
                    row.at.strftime(CSV_WHEN_FORMAT),
                    _cell(row.who),
                    row.role,
                    _cell(row.what),
                    _cell(row.client),
                    row.ip,
                    row.object_type,
                    _cell(row.object_id),
                ]
            )

    today = timezone.localdate(timezone=setting.practice.zone).isoformat()
    # Typed loosely like the other streaming exports: role_required wraps HttpResponse views.
    response: Any = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-trail-{setting.practice.slug}-{today}.csv"'
    )
    result: HttpResponse = response
    return result
