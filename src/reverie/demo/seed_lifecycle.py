"""Seeding the data lifecycle: a client's copy of their record, ready to download.

The journaling featured client asks for their record through the portal's action, and the
worker's own code prepares the archive (``lifecycle.exports.process_queued``), so the
portal's "Your record" panel, the audit trail's *export* entry and the file under
``DATA_DIR`` are those of real use. It runs after the seeding transactions have committed,
as the worker would: the archive is a file, and a rolled-back seed must not point at one.
"""

from __future__ import annotations

from reverie.accounts.models import Practice
from reverie.audit import trail
from reverie.care.models import Client
from reverie.demo import seed_content
from reverie.lifecycle import exports


def write_lifecycle(practice: Practice) -> None:
    featured = seed_content.featured_clients(practice)
    if not featured:
        return
    user, _ = featured[-1]
    client = Client.objects.get(user=user)
    exports.request_export(trail.Context(user=user, practice=practice), client)
    exports.process_queued("demo-seed", max_exports=1)
