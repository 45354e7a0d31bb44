"""Preparing, handing out and deleting the archives of a client's complete record.

A request (:func:`request_export`, an action) writes a
:class:`~reverie.lifecycle.models.RecordExport`. A small record is prepared at once, in
the request, after that row has committed; a large one waits for the worker job
``lifecycle.build_exports``, which claims it with a conditional UPDATE (two workers never
take the same export) and reports its progress member by member for the status page.

The archive is written under ``DATA_DIR/exports/`` with mode 0600, first to a ``.part``
file that is renamed when complete, so a crash never leaves a half archive behind a
download link. The link works for the person who asked, for :data:`LIFETIME`; then the
``lifecycle.expire_exports`` job deletes the file. No network I/O happens here, and the
archive is built outside any transaction.
"""

from __future__ import annotations

import datetime
import logging
import os
import secrets
import shutil
from pathlib import Path
from typing import TypeVar, cast

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from reverie.accounts.models import User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import Appointment, Client, ProgressNote
from reverie.lib.files import PRIVATE_FILE, make_private_dir
from reverie.lifecycle import archive
from reverie.lifecycle.access import audience_of, exportable_clients
from reverie.lifecycle.models import BulkExport, ExportStatus, PreparedExport, RecordExport
from reverie.lifecycle.record import Audience, gather
from reverie.measures.models import Administration
from reverie.process.models import JournalEntry

log = logging.getLogger("reverie.lifecycle")
E = TypeVar("E", bound=PreparedExport)

#: How long a prepared archive may be downloaded before it is deleted.
LIFETIME = datetime.timedelta(hours=24)
#: Records with at most this many sessions, notes, questionnaires and journal entries are
#: prepared in the request (well under a second, bench/bench_export.py); larger ones go to
#: the worker, so a request never waits for minutes.
INLINE_LIMIT = 400
#: A running export whose worker has not reported for this long is declared failed.
STALE_AFTER = datetime.timedelta(minutes=15)
#: Progress steps: reading the record, then each archive member.
STEPS = 1 + len(archive.MEMBERS)


def export_dir() -> Path:
    return Path(settings.DATA_DIR) / "exports"


def path_of(export: RecordExport) -> Path:
    return export_dir() / export.file_name


def record_size(client: Client) -> int:
    """Rows an export of ``client`` reads in the largest parts of the record."""
    return (
        Appointment.objects.filter(episode__client=client).count()
        + ProgressNote.objects.filter(episode__client=client).count()
        + Administration.objects.filter(client=client).count()
        + JournalEntry.objects.filter(client=client).count()
    )


def request_export(ctx: trail.Context, client: Client) -> RecordExport:
    """Ask for ``client``'s complete record. The caller has checked access."""
    user = ctx.user
    if user is None:
        raise PermissionError("an export is asked for by a person")
    with transaction.atomic():
        export = RecordExport.objects.create(
            client=client,
            requested_by=user,
            audience=audience_of(user).value,
            progress_total=STEPS,
        )
        trail.record(
            ctx,
            Action.CREATE,
            export,
            client_id=client.pk,
            detail={"audience": export.audience},
        )
    result: RecordExport = export
    return result


#: Every kind of export the worker prepares, and the folder its files live in. Claims,
#: progress, staleness and expiry are the same for all of them.
def folder_of(model: type[PreparedExport]) -> Path:
    return Path(settings.DATA_DIR) / ("bulk" if model is BulkExport else "exports")


KINDS: tuple[type[PreparedExport], ...] = (RecordExport, BulkExport)


def claim(export: PreparedExport, me: str) -> bool:
    now = timezone.now()
    taken = (
        type(export)
        .objects.filter(pk=export.pk, status=ExportStatus.QUEUED)
        .update(
            status=ExportStatus.RUNNING,
            locked_by=me,
            started_at=now,
            heartbeat_at=now,
            stage="Starting",
        )
    )
    return taken == 1


def claim_next(me: str, model: type[E] = RecordExport) -> E | None:  # type: ignore[assignment]
    """Take the oldest queued export, if another worker has not taken it first."""
    for export in model.objects.filter(status=ExportStatus.QUEUED).order_by("created_at", "pk")[
        :10
    ]:
        if claim(export, me):
            return cast(E, model.objects.select_related("requested_by").get(pk=export.pk))
    return None


def fail_stale(now: datetime.datetime | None = None) -> int:
    """Exports whose worker went silent (crashed, killed) are marked failed."""
    now = now or timezone.now()
    return sum(
        model.objects.filter(
            status=ExportStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER
        ).update(
            status=ExportStatus.FAILED,
            finished_at=now,
            stage="Stopped",
            message="The worker stopped while preparing the export. Ask for it again.",
        )
        for model in KINDS
    )


def report(export: PreparedExport, done: int, stage: str) -> bool:
    """Record progress; False when the export is no longer running (cancelled, or
    declared stale), so the worker stops."""
    return (
        type(export)
        .objects.filter(pk=export.pk, status=ExportStatus.RUNNING)
        .update(progress_done=done, stage=stage, heartbeat_at=timezone.now())
        == 1
    )


def _report(export: PreparedExport, done: int, stage: str) -> None:
    report(export, done, stage)


def fail(export: PreparedExport, message: str) -> None:
    type(export).objects.filter(pk=export.pk, status=ExportStatus.RUNNING).update(
        status=ExportStatus.FAILED, finished_at=timezone.now(), message=message[:300]
    )


def build(export: RecordExport, writer: trail.Context) -> str:
    """Prepare one claimed export; returns its final status. Never raises for a bad
    export: the reason (without clinical text) is kept on the row.

    The record is read as the person who asked (the audit's ``export`` entry names them);
    ``writer`` records the archive's creation (the worker, or that person in a request).
    """
    requester: User = export.requested_by
    reader = trail.Context(user=requester, label="system:lifecycle.exports")
    client = exportable_clients(requester).filter(pk=export.client_id).first()
    if client is None:
        fail(export, "You no longer have access to this client.")
        return ExportStatus.FAILED
    make_private_dir(export_dir())
    name = f"{secrets.token_urlsafe(18)}.zip"
    final = export_dir() / name
    part = final.with_suffix(".part")
    try:
        _report(export, 0, "Reading the record")
        record = gather(client, Audience(export.audience))
        step = iter(range(1, STEPS))

        def progress(member: str) -> None:
            _report(export, next(step), f"Writing {member}")

        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as target:
            archive.write_zip(record, target, progress)
        part.replace(final)
    except Exception:  # the reason goes to the log; the row says only that it failed
        log.exception("export %s failed", export.pk)
        part.unlink(missing_ok=True)
        fail(export, "Preparing the record failed. The error is in the server log.")
        return ExportStatus.FAILED
    now = timezone.now()
    size = final.stat().st_size
    with transaction.atomic():
        updated = RecordExport.objects.filter(pk=export.pk, status=ExportStatus.RUNNING).update(
            status=ExportStatus.DONE,
            file_name=name,
            size_bytes=size,
            progress_done=STEPS,
            stage="Ready",
            finished_at=now,
            expires_at=now + LIFETIME,
        )
        if not updated:  # declared stale meanwhile: nobody will link to this file
            final.unlink(missing_ok=True)
            return ExportStatus.FAILED
        trail.record(
            reader,
            Action.EXPORT,
            client,
            client_id=client.pk,
            detail={
                "export": export.pk,
                "audience": export.audience,
                "counts": record.counts(),
            },
        )
        trail.record(
            writer,
            Action.UPDATE,
            export,
            client_id=client.pk,
            detail={"status": ExportStatus.DONE.value, "bytes": size},
        )
    return ExportStatus.DONE


def prepare_now_if_small(ctx: trail.Context, export: RecordExport) -> None:
    """In the request: prepare a small record at once (the row has committed)."""
    if record_size(export.client) > INLINE_LIMIT:
        return
    if claim(export, "request"):
        export.refresh_from_db()
        build(export, ctx)


def process_queued(me: str, max_exports: int = 3) -> list[int]:
    """The worker job's body: fail silent exports, then prepare up to ``max_exports``."""
    fail_stale()
    done: list[int] = []
    for _ in range(max_exports):
        export = claim_next(me)
        if export is None:
            break
        build(export, trail.system("lifecycle.exports"))
        done.append(export.pk)
    return done


def expire(now: datetime.datetime | None = None) -> list[int]:
    """Delete the files whose download link has expired, of every kind of export; the rows
    stay (as history). Returns the expired exports' ids."""
    now = now or timezone.now()
    ctx = trail.system("lifecycle.expire")
    expired: list[int] = []
    for model in KINDS:
        for export in model.objects.filter(status=ExportStatus.DONE, expires_at__lte=now):
            with transaction.atomic():
                taken = model.objects.filter(pk=export.pk, status=ExportStatus.DONE).update(
                    status=ExportStatus.EXPIRED, stage="Deleted", file_name=""
                )
                if not taken:
                    continue
                trail.record(
                    ctx,
                    Action.DELETE,
                    export,
                    client_id=getattr(export, "client_id", None),
                    detail={"file": "deleted"},
                )
            # After the commit: a file deleted before a rolled-back update would leave a
            # link to nothing; a file left after a crash here is found by the next pass.
            if export.file_name:
                delete_files(model, export.file_name)
            expired.append(export.pk)
    _remove_orphans()
    return expired


def delete_files(model: type[PreparedExport], name: str) -> None:
    target = folder_of(model) / name
    if target.is_dir():
        shutil.rmtree(target, ignore_errors=True)
    else:
        target.unlink(missing_ok=True)


def _remove_orphans() -> None:
    """Files in an export folder no live export points to (a crash between the commit
    above and the unlink, or a ``.part`` left by a killed worker an hour ago or more)."""
    cutoff = timezone.now().timestamp() - STALE_AFTER.total_seconds() * 4
    for model in KINDS:
        folder = folder_of(model)
        if not folder.is_dir():
            continue
        live = set(
            model.objects.filter(status__in=(ExportStatus.DONE, ExportStatus.RUNNING))
            .exclude(file_name="")
            .values_list("file_name", flat=True)
        )
        for entry in folder.iterdir():
            if entry.name in live or entry.stat().st_mtime >= cutoff:
                continue
            delete_files(model, entry.name)
