"""``reverie audit verify`` / ``reverie audit checkpoint``: check the audit trail and
write its head down outside the database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reverie.audit import checkpoints, trail

SHOWN = 50


class Command(BaseCommand):
    help = "Verify the audit trail, or write a checkpoint of its head outside the database."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser(
            "verify",
            help="Recompute every link of the chain and compare it with the checkpoints.",
        )
        take = sub.add_parser(
            "checkpoint",
            help="Verify the entries since the last checkpoint, then append the head to the "
            "checkpoint file.",
        )
        take.add_argument(
            "--accept-rewind",
            metavar="REASON",
            default="",
            help="After restoring a backup: accept that the trail now ends before earlier "
            "checkpoints, and say why. The whole chain is verified first.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "checkpoint":
            self._checkpoint(options["accept_rewind"].strip())
            return
        result = trail.verify()
        trail.remember_verification(result, "reverie audit verify")
        for note in result.notes:
            self.stdout.write(f"note: {note}")
        if result.ok:
            self.stdout.write(
                f"OK: {result.checked} audit entries verified, ending at #{result.head_seq}; "
                f"the chain is intact and agrees with {result.checkpoints} checkpoint(s)."
            )
            return
        self._fail(result)

    def _checkpoint(self, rewind_note: str) -> None:
        made, result = trail.checkpoint(by="reverie audit checkpoint", rewind_note=rewind_note)
        if made is None:
            self.stderr.write("No checkpoint written: the trail does not verify.")
            self._fail(result)
            return
        kind = "Rewind accepted" if rewind_note else "Checkpoint"
        self.stdout.write(
            f"{kind}: #{made.seq} {made.digest} ({made.count} entries; "
            f"{result.checked} verified now), appended to {checkpoints.path()}"
        )

    def _fail(self, result: trail.Verification) -> None:
        for problem in result.problems[:SHOWN]:
            self.stderr.write(str(problem))
        if len(result.problems) > SHOWN:
            self.stderr.write(f"... and {len(result.problems) - SHOWN} more")
        self.stderr.write(f"FAILED: {len(result.problems)} problem(s) in {result.checked} entries.")
        raise SystemExit(1)
