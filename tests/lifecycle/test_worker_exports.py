"""Large exports are prepared by the worker with progress; the archive is private, its
link works for 24 hours for the person who asked, and then the file is deleted."""

from __future__ import annotations

import datetime
import stat

import pytest
from django.urls import reverse
from django.utils import timezone

from lifecycle_data import FullRecord, unzip
from reverie.audit import trail
from reverie.care.models import Episode
from reverie.core import worker
from reverie.lifecycle import exports
from reverie.lifecycle.models import ExportStatus, RecordExport

pytestmark = pytest.mark.django_db


@pytest.fixture
def large(monkeypatch: pytest.MonkeyPatch) -> None:
    """Treat every record as large, so it goes to the worker."""
    monkeypatch.setattr(exports, "INLINE_LIMIT", 0)


def test_a_large_record_waits_for_the_worker_and_shows_its_progress(
    full_record: FullRecord, as_user, large: None
) -> None:
    http = as_user("client")
    response = http.post(reverse("lifecycle:my_export"))
    export = RecordExport.objects.get()
    assert export.status == ExportStatus.QUEUED
    page = http.get(response["Location"]).content.decode()
    assert "Waiting for the worker" in page
    assert '<progress id="export-progress" max="6" value="0">' in page
    assert 'http-equiv="refresh"' in page
    assert "/download/" not in page

    seen: list[tuple[int, str]] = []
    real_report = exports._report

    def spy(row: RecordExport, done: int, stage: str) -> None:
        real_report(row, done, stage)
        seen.append((done, stage))

    exports._report = spy  # type: ignore[assignment]
    try:
        worker.REGISTRY["lifecycle.build_exports"].func()
    finally:
        exports._report = real_report  # type: ignore[assignment]
    assert [done for done, _ in seen] == [0, 1, 2, 3, 4, 5]
    assert seen[1][1] == "Writing README.txt"

    export.refresh_from_db()
    assert export.status == ExportStatus.DONE
    assert export.percent == 100
    assert export.expires_at is not None
    lifetime = export.expires_at - export.finished_at  # type: ignore[operator]
    assert lifetime == datetime.timedelta(hours=24)
    path = exports.path_of(export)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    page = http.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' not in page
    download = http.get(reverse("lifecycle:export_download", args=[export.pk]))
    assert "journal.txt" in unzip(b"".join(download.streaming_content))


def test_an_expired_link_is_refused_and_the_worker_deletes_the_file(
    full_record: FullRecord, as_user
) -> None:
    http = as_user("therapist")
    http.post(reverse("lifecycle:client_export", args=[full_record.world.client.pk]))
    export = RecordExport.objects.get()
    path = exports.path_of(export)
    assert path.is_file()
    RecordExport.objects.filter(pk=export.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    download = reverse("lifecycle:export_download", args=[export.pk])
    assert http.get(download).status_code == 404
    worker.REGISTRY["lifecycle.expire_exports"].func()
    assert not path.exists()
    export.refresh_from_db()
    assert (export.status, export.file_name) == (ExportStatus.EXPIRED, "")
    page = http.get(reverse("lifecycle:export", args=[export.pk])).content.decode()
    assert "has expired" in page
    # A second pass finds nothing more to do.
    assert exports.expire() == []


def test_a_live_link_survives_the_expiry_job(full_record: FullRecord, as_user) -> None:
    as_user("client").post(reverse("lifecycle:my_export"))
    export = RecordExport.objects.get()
    assert exports.expire() == []
    assert exports.path_of(export).is_file()


def test_a_therapist_who_lost_access_gets_no_archive(
    full_record: FullRecord, as_user, large: None
) -> None:
    w = full_record.world
    as_user("therapist").post(reverse("lifecycle:client_export", args=[w.client.pk]))
    # The episode moves to the colleague before the worker gets to it.
    Episode.objects.filter(client=w.client).update(therapist=w.colleague)
    worker.REGISTRY["lifecycle.build_exports"].func()
    export = RecordExport.objects.get()
    assert export.status == ExportStatus.FAILED
    assert export.message == "You no longer have access to this client."
    assert not export.file_name
    assert not list(exports.export_dir().glob("*"))


def test_an_export_whose_worker_went_silent_is_failed(full_record: FullRecord) -> None:
    w = full_record.world
    export = exports.request_export(trail.Context(user=w.therapist), w.client)
    assert exports.claim(export, "gone")
    RecordExport.objects.filter(pk=export.pk).update(
        heartbeat_at=timezone.now() - datetime.timedelta(minutes=16)
    )
    assert exports.fail_stale() == 1
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED
    # Two workers never take one export.
    assert not exports.claim(export, "another")
