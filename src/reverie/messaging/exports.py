"""A client's messages for the complete-record export: read in one query, and each as an
HL7 FHIR R4 ``Communication`` resource for the archive's Bundle.

``Communication`` is FHIR's record of "a message that was sent to a recipient"
(https://hl7.org/fhir/R4B/communication.html): ``status`` completed, ``sent`` and
``received`` (here, when it was read), ``subject`` the patient, ``sender`` and
``recipient``, the text as ``payload.contentString``. The lifecycle archive validates
each with the R4B model; Reverie's FHIR API does not serve messages.
"""

from __future__ import annotations

import datetime
from typing import Any

from reverie.care.models import Client
from reverie.messaging.models import Message


def client_messages(client: Client) -> list[Message]:
    return list(
        Message.objects.filter(thread__client=client)
        .select_related("sender", "read_by")
        .order_by("sent_at", "pk")
    )


def _instant(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def communication(message: Message, client: Client) -> dict[str, Any]:
    patient = {"reference": f"Patient/{client.pk}", "display": client.display_name}
    person = {"display": message.sender.display_name}
    resource: dict[str, Any] = {
        "resourceType": "Communication",
        "id": f"message-{message.pk}",
        "status": "completed",
        "subject": {"reference": f"Patient/{client.pk}"},
        "sent": _instant(message.sent_at),
        "sender": patient if message.from_client else person,
        "payload": [{"contentString": message.body}],
    }
    if message.from_client:
        # The care team, not one person: any therapist caring for the client could read it.
        resource["recipient"] = [{"display": "the client's care team"}]
    else:
        resource["recipient"] = [patient]
    if message.read_at is not None:
        resource["received"] = _instant(message.read_at)
    return resource
