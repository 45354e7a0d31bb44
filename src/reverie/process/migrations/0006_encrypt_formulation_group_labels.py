# A CCRT formulation group's label moves onto the client's data key: it is named after a
# formulation (the client's words) or written by the therapist about the client. Sealed
# text cannot be sorted in SQL, so the default order becomes (component, id) and pages
# sort by label in Python. Existing rows are sealed by 0007, a migration of its own for
# the reason given in 0004 (a PostgreSQL reversal that rewrites rows and then alters
# their table in one transaction fails).

from django.db import migrations

import reverie.vault.fields


class Migration(migrations.Migration):

    dependencies = [
        ('process', '0005_seal_theme_text'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='formulationgroup',
            options={'ordering': ['component', 'pk']},
        ),
        migrations.AlterField(
            model_name='formulationgroup',
            name='label',
            field=reverie.vault.fields.EncryptedTextField(max_length=200, owner='client_id', scope='client'),
        ),
    ]
