"""The audit chain's head is its newest entry, found through the unique ``seq`` index;
the one-row head table, updated by every append, goes.

Every append used to move that row. Whenever any transaction in the PostgreSQL cluster
stayed open (a backup's ``pg_dump`` does), each move left a dead row version that could
not be pruned, and every append then read through all of them: PostgreSQL's CPU per
FHIR submission tripled within 20 s (bench/RESULTS.md, 2026-12-07). Entries are only
ever inserted, so the newest one costs the same to find however old the oldest open
snapshot is. The row was also no protection against removing the newest entries: whoever
could delete them could rewind it too. Checkpoints outside the database are
(``reverie audit checkpoint``).

The row always equalled the newest entry, so nothing is lost: before it goes, this checks
that it does, and stops if it does not (the trail would then need ``reverie audit
verify``, which no longer compares against it).
"""

from django.db import migrations


def check_head(apps, schema_editor):
    head = apps.get_model("audit", "AuditHead").objects.filter(pk=1).first()
    if head is None:
        return  # nothing recorded to compare (a database flushed by hand)
    newest = apps.get_model("audit", "AuditEntry").objects.order_by("-seq").first()
    recorded = (head.seq, head.hash) if head.seq else (0, None)
    actual = (newest.seq, newest.hash) if newest is not None else (0, None)
    if recorded != actual:
        raise RuntimeError(
            f"The audit head says #{recorded[0]} but the newest entry is #{actual[0]}: "
            "the trail was altered. Run `reverie audit verify` with the previous release "
            "and restore from a backup before upgrading."
        )


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0003_keyed_chain_and_trail_checks"),
    ]

    operations = [
        migrations.RunPython(check_head, migrations.RunPython.noop),
        migrations.DeleteModel(name="AuditHead"),
    ]
