"""Seeding the data lifecycle: a client's copy of their record, ready to download, and
one erasure request waiting for a second admin (:func:`write_erasure_request`).

The journaling featured client asks for their record through the portal's action, and the
worker's own code prepares the archive (``lifecycle.exports.process_queued``), so the
portal's "Your record" panel, the audit trail's *export* entry and the file under
``DATA_DIR`` are those of real use. It runs after the seeding transactions have committed,
as the worker would: the archive is a file, and a rolled-back seed must not point at one.
"""

from __future__ import annotations

from django.contrib.auth.hashers import make_password

from reverie.accounts.models import Practice, Role, User
from reverie.audit import trail
from reverie.care.models import Client
from reverie.demo import seed_content
from reverie.lifecycle import actions, exports


def write_lifecycle(practice: Practice) -> None:
    featured = seed_content.featured_clients(practice)
    if not featured:
        return
    user, _ = featured[-1]
    client = Client.objects.get(user=user)
    exports.request_export(trail.Context(user=user, practice=practice), client)
    exports.process_queued("demo-seed", max_exports=1)


SECOND_ADMIN = {"email": "second.admin@demo.example.org", "full_name": "Morgan Reyes"}
REASON = (
    "Synthetic demo request: the client asked in writing for their record to be erased "
    "after treatment ended."
)


def write_erasure_request(practice: Practice) -> None:
    """One erasure request waiting for a second admin: a synthetic second admin (no
    password: nobody signs in as them) asks, through the real action, for a client whose
    treatment ended, so the demo's admin can confirm or withdraw it (two-person rule)."""
    second = User.objects.create(
        email=SECOND_ADMIN["email"],
        full_name=SECOND_ADMIN["full_name"],
        practice=practice,
        role=Role.ADMIN,
        # Unusable: the demo prints no login for this admin.
        password=make_password(None),
    )
    client = (
        Client.objects.filter(practice=practice, user__isnull=True, episodes__isnull=False)
        .exclude(episodes__end_date__isnull=True)
        .order_by("pk")
        .first()
    )
    if client is None:
        return
    actions.request_erasure(
        trail.Context(user=second),
        client,
        reason=REASON,
        typed_name=f"{client.given_name} {client.family_name}",
    )
