"""The audit trail in words a practice admin reads: who did what, to which kind of thing.

Entries store identifiers (``care.progressnote``, ``view``); these functions turn them into
"viewed a progress note" or "exported the audit trail (CSV)". Kinds are named from a short
table of overrides, then from the model's own verbose name through the app registry (no
import of the app that owns the model), then from the identifier itself, so an entry of a
kind added later still reads sensibly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import apps

from reverie.accounts.models import Role
from reverie.audit.models import Action

if TYPE_CHECKING:
    from reverie.accounts.models import User
    from reverie.audit.models import AuditEntry

# (singular, plural) where the model's verbose name is not what a person would say.
KINDS: dict[str, tuple[str, str]] = {
    "accounts.user": ("account", "accounts"),
    "accounts.apitoken": ("API token", "API tokens"),
    "audit.auditentry": ("audit trail", "audit entries"),
    "care.client": ("client record", "client records"),
    "care.sessionseries": ("session series", "session series"),
    "care.noteaddendum": ("note addendum", "note addenda"),
    "care.calendarfeed": ("calendar feed", "calendar feeds"),
    "directory.educationpage": ("psychoeducation page", "psychoeducation pages"),
    "measures.administration": ("questionnaire response", "questionnaire responses"),
    "measures.measurerequest": ("questionnaire request", "questionnaire requests"),
    "measures.requestlink": ("one-time questionnaire link", "one-time questionnaire links"),
    "measures.draft": ("questionnaire draft", "questionnaire drafts"),
    "outcomes.dashboard": ("outcomes dashboard", "outcomes dashboards"),
    "overview.practice": ("practice overview", "practice overviews"),
    "outcomes.refreshstate": ("outcome summaries", "outcome summaries"),
    "outcomes.episodeoutcome": ("episode outcome", "episode outcomes"),
    "outbox.message": ("queued email", "queued emails"),
    "care.videoroom": ("video room", "video rooms"),
    "paperwork.formversion": ("intake form version", "intake form versions"),
    "paperwork.formrequest": ("intake form", "intake forms"),
    "paperwork.document": ("stored document", "stored documents"),
    "messaging.message": ("secure message", "secure messages"),
}

# Things there is only one of: "the audit trail", not "an audit trail".
SINGULAR_THE = {
    "audit.auditentry",
    "outcomes.dashboard",
    "outcomes.refreshstate",
    "overview.practice",
}

# Exports and reports named in ``detail``.
EXPORTS = {
    "audit_trail_csv": "the audit trail (CSV)",
    "analysis_dataset_csv": "the de-identified analysis data set (CSV)",
    "client_progress_pdf": "a progress report (PDF)",
    "practice_outcomes_pdf": "the practice outcomes report (PDF)",
    "fhir.everything": "a complete client record (FHIR)",
}

# Actions whose label already says what was done; the object, if any, is a person.
SELF_DESCRIBING = {
    Action.LOGIN,
    Action.LOGOUT,
    Action.LOGIN_FAILED,
    Action.OTP_ENROLL,
    Action.TOKEN_CREATE,
    Action.TOKEN_REVOKE,
}


def kind(object_type: str, plural: bool = False) -> str:
    """The words for a kind of object.

    >>> kind("measures.administration")
    'questionnaire response'
    >>> kind("care.progressnote", plural=True)
    'progress notes'
    >>> kind("someapp.thing_unknown")
    'thing unknown'
    """
    if object_type in KINDS:
        return KINDS[object_type][1 if plural else 0]
    try:
        meta = apps.get_model(object_type)._meta
    except (LookupError, ValueError):
        return object_type.rpartition(".")[2].replace("_", " ")
    return str(meta.verbose_name_plural if plural else meta.verbose_name)


def with_article(object_type: str) -> str:
    """ "a progress note", "an episode", "the audit trail".

    >>> with_article("care.episode"), with_article("accounts.apitoken")
    ('an episode', 'an API token')
    """
    words = kind(object_type)
    if object_type in SINGULAR_THE:
        return f"the {words}"
    return f"{'an' if words[:1].lower() in 'aeio' else 'a'} {words}"


def _export_name(name: str) -> str:
    return EXPORTS.get(
        name, name.replace("_", " ").replace(" pdf", " (PDF)").replace(" csv", " (CSV)")
    )


def what(entry: AuditEntry, people: dict[int, User]) -> str:
    """A plain sentence fragment: "viewed a progress note", "invited Cora Colleague".

    ``people`` names accounts by id (the practice's users), for entries about a person.
    """
    verb = Action(entry.action).label if entry.action in Action.values else entry.action
    person = None
    if entry.object_type == "accounts.user" and entry.object_id.isdigit():
        found = people.get(int(entry.object_id))
        person = str(found) if found is not None else None
    if entry.action in SELF_DESCRIBING:
        if entry.action == Action.LOGIN_FAILED and person:
            return f"failed to sign in as {person}"
        return verb
    if entry.action == Action.LOCKED:
        return f"{person} was locked out" if person else "an account was locked out"
    if entry.action == Action.PASSWORD_RESET:
        return f"reset the password of {person}" if person else verb
    if entry.action in (Action.INVITE, Action.UNLOCK) and person:
        return f"{verb} {person}"
    if entry.action == Action.EXPORT:
        detail = entry.detail if isinstance(entry.detail, dict) else {}
        named = detail.get("report") or detail.get("export") or detail.get("view")
        if isinstance(named, str) and named:
            return f"{verb} {_export_name(named)}"
    if not entry.object_type:
        return verb
    if entry.action == Action.LIST:
        return f"{verb} {kind(entry.object_type, plural=True)}"
    if person:
        return f"{verb} the account of {person}"
    return f"{verb} {with_article(entry.object_type)}"


def who(entry: AuditEntry) -> tuple[str, str]:
    """(name, role) of whoever acted; ``entry.actor`` must be loaded with the entry."""
    if entry.actor is not None:
        return str(entry.actor), Role(entry.actor.role).label
    label = entry.actor_label
    if label.startswith("system:"):
        return f"Reverie ({label.removeprefix('system:')})", "background job or command"
    if label in ("", "anonymous"):
        return "Not signed in", ""
    return label[:1].upper() + label[1:], "not signed in"
