"""``reverie practice add --slug S --name N``: create a practice."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.text import slugify

from reverie.accounts.models import Practice


class Command(BaseCommand):
    help = "Manage practices."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        add = sub.add_parser("add", help="Create a practice.")
        add.add_argument("--slug", required=True)
        add.add_argument("--name", required=True)
        sub.add_parser("list", help="List practices.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "list":
            for p in Practice.objects.all():
                self.stdout.write(f"{p.slug}\t{p.name}{'  (demo)' if p.is_demo else ''}")
            return
        slug = options["slug"]
        if slug != slugify(slug):
            raise CommandError(
                f"--slug must be lowercase letters, digits and hyphens, e.g. {slugify(slug)!r}"
            )
        if Practice.objects.filter(slug=slug).exists():
            raise CommandError(f"a practice with the slug {slug!r} already exists")
        Practice.objects.create(slug=slug, name=options["name"])
        self.stdout.write(f"created practice {slug}")
