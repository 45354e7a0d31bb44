"""No model about a client escapes the export unnoticed: each is exported or excluded
with a reason, and each model said to be exported is really read."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lifecycle_data import FullRecord
from reverie.lifecycle import archive, coverage
from reverie.lifecycle.record import Audience, gather


def test_every_model_about_a_client_is_exported_or_excluded_with_a_reason() -> None:
    about = coverage.models_about_a_client()
    missing = about - set(coverage.EXPORTED) - set(coverage.EXCLUDED)
    assert not missing, (
        f"models with a path to a client that the export neither carries nor excludes: "
        f"{sorted(missing)} (add each to lifecycle/coverage.py)"
    )
    assert not set(coverage.EXPORTED) & set(coverage.EXCLUDED)
    stale = (set(coverage.EXPORTED) | set(coverage.EXCLUDED)) - about
    assert not stale, f"listed but not (or no longer) about a client: {sorted(stale)}"
    assert all(reason.strip() for reason in coverage.EXCLUDED.values())


def test_the_walk_finds_models_several_links_away() -> None:
    about = coverage.models_about_a_client()
    # ThemeEvidence → RecurringTheme → Client, NoteAddendum → ProgressNote → Episode → Client.
    assert {"process.ThemeEvidence", "care.NoteAddendum", "care.Client"} <= about
    assert "accounts.Practice" not in about


def _tables(sql: str) -> set[str]:
    return set(re.findall(r'FROM "?(\w+)"?', sql, flags=re.IGNORECASE)) | set(
        re.findall(r'JOIN "?(\w+)"?', sql, flags=re.IGNORECASE)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("audience", list(Audience))
def test_every_exported_model_is_read_and_process_notes_never(
    full_record: FullRecord, audience: Audience
) -> None:
    with CaptureQueriesContext(connection) as queries:
        archive.zip_bytes(gather(full_record.world.client, audience))
    read = set().union(*(_tables(q["sql"]) for q in queries.captured_queries))
    # The client row itself is what the export starts from, read by the caller.
    for label in set(coverage.EXPORTED) - {"care.Client"}:
        table = apps.get_model(label)._meta.db_table
        assert table in read, f"{label} is listed as exported but the export never reads it"
    assert apps.get_model("care.ProcessNote")._meta.db_table not in read
