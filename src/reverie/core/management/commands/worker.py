"""``reverie worker``: run periodic background jobs. Start as many as you like."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reverie.core import worker
from reverie.core.management.commands.serve import check_audit_key, check_secret_key


class Command(BaseCommand):
    help = "Run Reverie's background jobs (reminders, follow-ups, alert escalation, housekeeping)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one pass and exit.")
        parser.add_argument("--poll", type=float, default=5.0, help="Seconds between passes.")

    def handle(self, *args: Any, **options: Any) -> None:
        check_secret_key()
        check_audit_key()
        if options["once"]:
            ran = worker.run_once()
            self.stdout.write(f"ran: {', '.join(ran) or 'nothing due'}")
            return
        worker.run_forever(options["poll"])
