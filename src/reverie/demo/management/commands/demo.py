"""``reverie demo``: migrate, seed the synthetic practice (once), print logins, serve."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reverie.core.management.commands.serve import run_gunicorn
from reverie.demo.seed import Login, SeedRefused, ensure_demo, outbox_path


def _count(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v:,}" for k, v in sorted(value.items()))
    return f"{value:,}" if isinstance(value, int) else str(value)


class Command(BaseCommand):
    help = "Run the demo practice with synthetic data at http://127.0.0.1:8000."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="Seed and print logins only.")
        parser.add_argument("--bind", default=settings.BIND)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO:
            raise CommandError("run the demo through the `reverie demo` command")
        call_command("migrate", interactive=False, verbosity=0)
        try:
            logins, summary = ensure_demo()
        except SeedRefused as exc:
            raise CommandError(str(exc)) from None
        if summary is not None:
            self.stdout.write("Seeded the synthetic demo practice:")
            for name, value in summary.items():
                self.stdout.write(f"  {name:<46} {_count(value)}")
        self.stdout.write("")
        self.stdout.write("Reverie demo — every person, note and score here is synthetic.")
        address = (
            settings.BASE_URL if options["bind"] == settings.BIND else f"http://{options['bind']}"
        )
        self.stdout.write(f"Open {address}/ and sign in as:")
        self._logins(logins)
        self.stdout.write("  (every demo account of a role shares that role's password)")
        self.stdout.write("")
        outbox = outbox_path()
        self.stdout.write(
            f"Mail is not sent anywhere: each message is written as a file to {outbox}"
        )
        self.stdout.write(
            "  Open them with any text editor or pager, e.g. "
            f"`ls -t {outbox} | head` and `less {outbox}/<file>`."
        )
        waiting = next((login for login in logins if "questionnaire" in login.note), None)
        if waiting is not None:
            self.stdout.write(
                f"  The questionnaire invitation to {waiting.email} there holds a one-time link."
            )
        self.stdout.write("")
        if options["no_serve"]:
            return
        worker = subprocess.Popen([sys.executable, "-m", "reverie", "worker"])
        try:
            run_gunicorn(options["bind"], workers=2, threads=4)
        finally:
            worker.terminate()

    def _logins(self, logins: list[Login]) -> None:
        for login in logins:
            who = f"{login.role:<10} {login.name:<18} {login.email:<32} password: {login.password}"
            self.stdout.write(f"  {who}")
            if login.note:
                self.stdout.write(f"  {'':<10} ({login.note})")
