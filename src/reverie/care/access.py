"""Who may see which client. Every view and API handler asks here, so the rules live in
one place and the access-matrix tests exercise them all.

- A therapist sees clients they treat (an episode of theirs) or have been granted by a
  practice admin.
- A practice admin sees the administrative record of every client in the practice, but
  not clinical content (scores, notes): practice-wide figures reach admins de-identified.
- A client sees only themselves.
- Nothing crosses practices.
- Alerts follow *current* care: a therapist sees and counts the alerts of clients they
  treat now (an episode of theirs that has not ended) or cover now (a grant not revoked).
  A former therapist keeps read access to the record they wrote, but a crisis alert is
  for whoever is responsible today. Admins see the alerts that were escalated to them.

The therapist's rules start from the therapist's own episodes and grants (``pk IN (…)``)
rather than testing every client of the practice with a correlated ``EXISTS``: the nav
badge counts alerts through :func:`current_care_clients` on every page, and the ``EXISTS``
form read all 9,000 clients of bench_outcomes' 10,000-episode practice (280 ms a page on
SQLite) where the therapist's own rows are a few hundred (2 ms).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from reverie.accounts.models import Role, User
from reverie.care.models import Alert, CareGrant, Client, Episode, EpisodeStatus


def clinical_clients(user: User) -> QuerySet[Client]:
    """Clients whose clinical data ``user`` may read."""
    base = Client.objects.filter(practice_id=user.practice_id)
    if user.role == Role.THERAPIST:
        treats = Episode.objects.filter(therapist=user).values("client_id")
        granted = CareGrant.objects.filter(therapist=user, revoked_at__isnull=True).values(
            "client_id"
        )
        return base.filter(Q(pk__in=treats) | Q(pk__in=granted))
    if user.role == Role.CLIENT:
        return base.filter(user=user)
    return base.none()


def administrative_clients(user: User) -> QuerySet[Client]:
    """Clients whose name, contact details and episodes ``user`` may see."""
    if user.role == Role.ADMIN:
        return Client.objects.filter(practice_id=user.practice_id)
    return clinical_clients(user)


def client_names(user: User) -> dict[int, str]:
    """``{id: display name}`` of the clients whose administrative record ``user`` may see,
    in one query; the audit trail's pages name clients through this."""
    return {client.pk: client.display_name for client in administrative_clients(user)}


def get_clinical_client(user: User, pk: int) -> Client:
    """The client, or 404 — never 403, so that a stranger learns nothing about existence."""
    return get_object_or_404(clinical_clients(user), pk=pk)


def own_client(user: User) -> Client | None:
    """The client record of a signed-in client, if their account is linked to one.

    The portal pages show the practice's name and crisis card, so the practice comes along.
    Only a record of the account's own practice counts, whatever links the two.
    """
    return (
        Client.objects.filter(user=user, practice_id=user.practice_id)
        .select_related("practice")
        .first()
    )


def current_care_clients(user: User) -> QuerySet[Client]:
    """Clients in ``user``'s care now: a therapist's episode that has not ended, or a
    grant that has not been revoked. Everyone else: none."""
    if user.role != Role.THERAPIST:
        return Client.objects.none()
    treats = (
        Episode.objects.filter(therapist=user)
        .exclude(status=EpisodeStatus.ENDED)
        .values("client_id")
    )
    covers = CareGrant.objects.filter(therapist=user, revoked_at__isnull=True).values("client_id")
    return Client.objects.filter(practice_id=user.practice_id).filter(
        Q(pk__in=treats) | Q(pk__in=covers)
    )


def visible_alerts(user: User) -> QuerySet[Alert]:
    """The alerts ``user`` sees, counts and may acknowledge: a therapist's for the clients
    in their care now; an admin's, those escalated in their practice (they reach admins
    because nobody responsible answered in time)."""
    if user.role == Role.ADMIN:
        return Alert.objects.filter(
            client__practice_id=user.practice_id, escalated_at__isnull=False
        )
    if user.role == Role.THERAPIST:
        return Alert.objects.filter(client__in=current_care_clients(user))
    return Alert.objects.none()
