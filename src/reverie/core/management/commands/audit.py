"""``reverie audit verify``: recompute the hash chain and report any break."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reverie.audit import trail


class Command(BaseCommand):
    help = "Check the audit trail."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("verify", help="Recompute every link of the hash chain.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = trail.verify()
        if result.ok:
            self.stdout.write(f"OK: {result.checked} audit entries verified; the chain is intact.")
            return
        for problem in result.problems[:50]:
            self.stderr.write(f"entry #{problem.seq}: {problem.reason}")
        if len(result.problems) > 50:
            self.stderr.write(f"... and {len(result.problems) - 50} more")
        self.stderr.write(f"FAILED: {len(result.problems)} problem(s) in {result.checked} entries.")
        raise SystemExit(1)
