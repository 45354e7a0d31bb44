"""``reverie token create|revoke|list``: bearer tokens for the JSON and FHIR APIs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reverie.accounts import actions
from reverie.accounts.models import ApiToken, User
from reverie.audit import trail


class Command(BaseCommand):
    help = "Manage API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        create = sub.add_parser("create", help="Create a token; it is printed once.")
        create.add_argument("--email", required=True)
        create.add_argument("--name", default="")
        revoke = sub.add_parser("revoke", help="Revoke one token (--hint) or all of a user's.")
        revoke.add_argument("--email", required=True)
        revoke.add_argument(
            "--hint", default="", help="The first characters shown by `token list`."
        )
        listing = sub.add_parser("list", help="List a user's tokens.")
        listing.add_argument("--email", required=True)

    def _user(self, email: str) -> User:
        user = User.objects.filter(email=email.strip().lower()).first()
        if user is None:
            raise CommandError(f"no user with the email {email}")
        return user

    def handle(self, *args: Any, **options: Any) -> None:
        user = self._user(options["email"])
        ctx = trail.system("cli", practice=user.practice)
        if options["verb"] == "create":
            if not user.is_active:
                raise CommandError(f"{user.email} is deactivated")
            _, raw = actions.create_token(ctx, user, options["name"])
            self.stdout.write(raw)
            self.stderr.write(
                "This token is shown once. Store it now; Reverie keeps only its hash."
            )
            return
        tokens = ApiToken.objects.filter(user=user)
        if options["verb"] == "list":
            for t in tokens:
                state = "revoked" if t.revoked_at else "active"
                used = t.last_used_at.isoformat() if t.last_used_at else "never"
                self.stdout.write(
                    f"{t.hint}\t{state}\tcreated {t.created_at:%Y-%m-%d}"
                    f"\tlast used {used}\t{t.name}"
                )
            return
        active = tokens.filter(revoked_at__isnull=True)
        if options["hint"]:
            active = active.filter(hint__startswith=options["hint"][:10])
        revoked = 0
        for t in active:
            actions.revoke_token(ctx, t)
            revoked += 1
        if not revoked:
            raise CommandError("no active token matched")
        self.stdout.write(f"revoked {revoked} token{'s' if revoked != 1 else ''}")
