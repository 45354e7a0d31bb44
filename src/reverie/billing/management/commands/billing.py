"""``reverie billing summary [--rebuild]``: check (or rebuild) the monthly income summary."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reverie.accounts.models import Practice
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.billing import summary


class Command(BaseCommand):
    help = "Check the monthly income summary against the charges, or rebuild it from them."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        summ = sub.add_parser(
            "summary",
            help=(
                "Compare the monthly income summary with the charges it sums and list any "
                "difference (exit status 1 if there is one)."
            ),
        )
        summ.add_argument(
            "--rebuild",
            action="store_true",
            help="Recompute the summary from the charges instead of only checking it.",
        )
        summ.add_argument("--practice", metavar="SLUG", help="Only this practice.")

    def handle(self, *args: Any, **options: Any) -> None:
        practice: Practice | None = None
        if options["practice"]:
            practice = Practice.objects.filter(slug=options["practice"]).first()
            if practice is None:
                raise CommandError(f"no practice {options['practice']!r}")
        practice_id = practice.pk if practice is not None else None
        if options["rebuild"]:
            rows = summary.rebuild(practice_id)
            trail.record(
                trail.system("billing", practice),
                Action.UPDATE,
                object_type="billing.incomemonth",
                detail={"rebuilt": rows, "practice": practice_id},
            )
            self.stdout.write(f"rebuilt the income summary: {rows:,} rows")
            return
        found = summary.differences(practice_id)
        for d in found[:50]:
            p, month, t, s = d.key
            self.stdout.write(
                f"practice {p} {month:%Y-%m} therapist {t} {s}: stored {d.stored}, "
                f"charges say {d.recomputed} (sessions, charged, written off)"
            )
        if found:
            raise CommandError(
                f"{len(found)} summary row(s) differ from the charges; "
                "`reverie billing summary --rebuild` recomputes them"
            )
        self.stdout.write("the income summary agrees with the charges")
