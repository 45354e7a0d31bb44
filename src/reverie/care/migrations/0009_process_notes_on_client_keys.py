# Process notes move from the practice key (care/crypto.py, a Fernet token in a binary
# column) to the client's data key (reverie.vault), like every other clinical text.

from typing import Any

from django.db import migrations, models

import reverie.vault.fields
from reverie.care import crypto
from reverie.vault import envelope


def to_client_keys(apps: Any, schema_editor: Any) -> None:
    note_model = apps.get_model("care", "ProcessNote")
    field = note_model._meta.get_field("text")
    for note in note_model.objects.order_by("pk").iterator(chunk_size=500):
        if note.text or not note.ciphertext:
            continue  # already moved (a re-run after an interruption)
        note.text = crypto.decrypt(note.ciphertext)
        # pre_save seals with the key of the note's client (episode.client_id).
        note_model.objects.filter(pk=note.pk).update(
            text=field.pre_save(note, add=False), ciphertext=b""
        )


def to_practice_key(apps: Any, schema_editor: Any) -> None:
    note_model = apps.get_model("care", "ProcessNote")
    for note in note_model.objects.order_by("pk").iterator(chunk_size=500):
        if note.text:
            note_model.objects.filter(pk=note.pk).update(
                ciphertext=crypto.encrypt(envelope.unseal(note.text)), text=""
            )


class Migration(migrations.Migration):
    dependencies = [
        ("vault", "0001_data_keys"),
        ("care", "0008_encrypt_episode_goals"),
    ]

    operations = [
        # A default, so that undoing the removal below can add the column back.
        migrations.AlterField(
            model_name="processnote",
            name="ciphertext",
            field=models.BinaryField(blank=True, default=b""),
        ),
        migrations.AddField(
            model_name="processnote",
            name="text",
            field=reverie.vault.fields.EncryptedTextField(
                default="", owner="episode.client_id", scope="client"
            ),
            preserve_default=False,
        ),
        migrations.RunPython(to_client_keys, to_practice_key),
        migrations.RemoveField(model_name="processnote", name="ciphertext"),
    ]
