"""Three indexes on administrations that no query needs, and every submission writes.

- ``client_id`` and ``episode_id``: the composite indexes (client, instrument,
  completed_at) and (episode, instrument, completed_at) lead with them;
- PostgreSQL's ``LIKE`` index on ``idempotency_key``: keys are only ever matched whole,
  through the unique index, which stays.

bench/RESULTS.md (2026-12-07, indexes on the hot tables) gives what they cost.
"""

from django.db import migrations, models

import reverie.core.schema

TABLE = "measures_administration"


class Migration(migrations.Migration):

    dependencies = [
        ("measures", "0003_request_language"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="administration",
                    name="client",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.PROTECT,
                        related_name="administrations",
                        to="care.client",
                    ),
                ),
                migrations.AlterField(
                    model_name="administration",
                    name="episode",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.PROTECT,
                        related_name="administrations",
                        to="care.episode",
                    ),
                ),
            ],
            database_operations=[
                reverie.core.schema.drop_field_index(TABLE, "client_id"),
                reverie.core.schema.drop_field_index(TABLE, "episode_id"),
            ],
        ),
        reverie.core.schema.drop_field_index(
            TABLE, "idempotency_key", suffix="_like", vendor="postgresql"
        ),
    ]
