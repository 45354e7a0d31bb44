# Theme discovery's text moves onto the client's data key: a theme's label and terms
# (words drawn from the client's text) and each evidence sentence (an exact copy of a
# sentence of a journal entry, relationship episode or progress note, whose own text was
# already sealed). Existing rows are sealed by 0005: a migration of its own, because on
# PostgreSQL a reversal that rewrites rows and then alters their table in one transaction
# fails ("pending trigger events").

from django.db import migrations

import reverie.vault.fields


class Migration(migrations.Migration):

    dependencies = [
        ('process', '0003_encrypt_reflection_comments'),
    ]

    operations = [
        migrations.AlterField(
            model_name='recurringtheme',
            name='label',
            field=reverie.vault.fields.EncryptedTextField(blank=True, max_length=200, owner='client_id', scope='client'),
        ),
        migrations.AlterField(
            model_name='recurringtheme',
            name='terms',
            field=reverie.vault.fields.EncryptedJSONField(blank=True, default=list, owner='client_id', scope='client'),
        ),
        migrations.AlterField(
            model_name='themeevidence',
            name='sentence',
            field=reverie.vault.fields.EncryptedTextField(blank=True, owner='theme.client_id', scope='client'),
        ),
    ]
