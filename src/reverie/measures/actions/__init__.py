"""Every change to measurement data, each writing its audit entry in the same transaction.

Views, the JSON API and the FHIR API call these; none of them saves a measures model
itself. The central one is :func:`submit`: it checks every answer, scores, stores the
administration, completes the request it answers, and runs crisis handling - all in one
transaction, so that a submission is either wholly stored (with its alert) or not at all.

One module per concern: :mod:`.submission` (submitting and replaying), :mod:`.drafts`
(answers saved in progress), :mod:`.requests` (schedules, requests, links and reminders),
:mod:`.instruments` (importing a FHIR Questionnaire) and :mod:`.common` (the error, audit
reads, keys and the words of crisis alerts). Import them from here.

Idempotency. A submission carries a key (the draft's key in the portal, a key in the paper
form, the ``QuestionnaireResponse.identifier`` or an ``Idempotency-Key`` header in the
APIs). The key is stored hashed with its scope and owner in a unique column, and a request
can be answered once (a one-to-one column and a conditional UPDATE of its status). A double
tap or a retried request therefore returns the administration stored the first time.
"""

from reverie.measures.actions.common import (
    MeasureActionError,
    RequestClosed,
    closed_message,
    crisis_summary,
    idempotency_key,
    new_key,
    record_read,
)
from reverie.measures.actions.drafts import draft_key, save_draft
from reverie.measures.actions.instruments import import_instrument
from reverie.measures.actions.requests import (
    cancel_request,
    create_request,
    new_link,
    open_requests_for,
    send_due_links,
    send_due_reminders,
    send_link,
    set_schedule,
)
from reverie.measures.actions.submission import (
    Submission,
    find_episode,
    matching_request,
    submit,
)
from reverie.measures.answers import AnswerProblems

__all__ = [
    "AnswerProblems",
    "MeasureActionError",
    "RequestClosed",
    "Submission",
    "cancel_request",
    "closed_message",
    "create_request",
    "crisis_summary",
    "draft_key",
    "find_episode",
    "idempotency_key",
    "import_instrument",
    "matching_request",
    "new_key",
    "new_link",
    "open_requests_for",
    "record_read",
    "save_draft",
    "send_due_links",
    "send_due_reminders",
    "send_link",
    "set_schedule",
    "submit",
]
