"""``reverie outcomes recompute|status``: rebuild the outcome summaries with progress."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reverie.audit import trail
from reverie.audit.models import Action
from reverie.outcomes import summary


class Command(BaseCommand):
    help = "Rebuild the per-episode outcome summaries and expected-recovery curves."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        rec = sub.add_parser(
            "recompute", help="Rebuild every summary row and refit the curves, showing progress."
        )
        rec.add_argument(
            "--changed-only",
            action="store_true",
            help="Only episodes with new scores or changed details (what the worker does).",
        )
        sub.add_parser("status", help="Show how far the last or current refresh got.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "status":
            st = summary.state()
            running = "running" if st.running else "idle"
            self.stdout.write(
                f"{running}: {st.done} of {st.total} episodes; watermark {st.watermark}; "
                f"last finished {st.finished_at or 'never'}"
                + (f"; last error: {st.last_error}" if st.last_error else "")
            )
            return
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            pct = 100.0 * done / total if total else 100.0
            elapsed = time.monotonic() - started
            self.stderr.write(
                f"\rsummarised {done:,} of {total:,} episodes ({pct:5.1f}%) in {elapsed:.1f} s",
                ending="",
            )
            self.stderr.flush()

        result = summary.refresh(full=not options["changed_only"], progress=progress)
        self.stderr.write("")
        if result is None:
            raise CommandError(
                "another process is refreshing the outcome summaries; try again when it ends "
                "(`reverie outcomes status` shows its progress)"
            )
        trail.record(
            trail.system("outcomes"),
            Action.UPDATE,
            object_type="outcomes.refreshstate",
            object_id=1,
            detail={"episodes": result.episodes, "full": result.full},
        )
        self.stdout.write(
            f"summarised {result.episodes:,} episode{'s' if result.episodes != 1 else ''}"
            f"{' and refitted the expected curves' if result.full else ''}; "
            f"{result.alerts} not-on-track alert{'s' if result.alerts != 1 else ''} raised"
        )
