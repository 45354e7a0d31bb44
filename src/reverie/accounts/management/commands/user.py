"""``reverie user add``: create a user, with a password from stdin or an emailed invitation."""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reverie.accounts import actions
from reverie.accounts.models import Practice, Role, User
from reverie.audit import trail


class Command(BaseCommand):
    help = "Manage users."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        add = sub.add_parser("add", help="Create a user.")
        add.add_argument("--email", required=True)
        add.add_argument("--role", required=True, choices=Role.values)
        add.add_argument("--practice", required=True, help="The practice's slug.")
        add.add_argument("--name", default="")
        how = add.add_mutually_exclusive_group()
        how.add_argument(
            "--password-stdin", action="store_true", help="Read the password from stdin."
        )
        how.add_argument("--invite", action="store_true", help="Email an invitation (the default).")
        unlock = sub.add_parser("unlock", help="Lift sign-in back-off for an account.")
        unlock.add_argument("--email", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        ctx = trail.system("cli")
        if options["verb"] == "unlock":
            user = User.objects.filter(email=options["email"].lower()).first()
            if user is None:
                raise CommandError(f"no user with the email {options['email']}")
            actions.unlock_user(ctx, user, via="cli")
            self.stdout.write(f"unlocked {user.email}")
            return
        try:
            practice = Practice.objects.get(slug=options["practice"])
        except Practice.DoesNotExist:
            raise CommandError(f"no practice with the slug {options['practice']!r}") from None
        password = None
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
            try:
                validate_password(password)
            except ValidationError as exc:
                raise CommandError("the password is too weak: " + " ".join(exc.messages)) from None
        elif not settings.SECRET_KEY_CONFIGURED:
            raise CommandError(
                "invitation links are signed with REVERIE_SECRET_KEY, which is not set; set it, "
                "or pass --password-stdin"
            )
        ctx = trail.system("cli", practice=practice)
        try:
            user = actions.create_user(
                ctx,
                email=options["email"],
                role=options["role"],
                practice=practice,
                full_name=options["name"],
                password=password,
            )
        except actions.ActionError as exc:
            raise CommandError(str(exc)) from None
        if password is None:
            actions.send_invitation(ctx, user, "The practice")
            self.stdout.write(f"created {user.email} ({user.role}); invitation sent")
        else:
            self.stdout.write(f"created {user.email} ({user.role})")
