"""Retention: the worker lists the records past the practice's policy for the admin to
review, and erases nothing; the admin edits the policy."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care.models import Client, Episode
from reverie.core import worker
from reverie.lifecycle import actions, review
from reverie.lifecycle.models import RetentionCandidate, RetentionPolicy
from reverie.testing import World

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 1)


def _former_client(world: World, name: str, ended: datetime.date, **fields) -> Client:
    client = Client.objects.create(
        practice=world.practice, given_name=name, family_name="Former", **fields
    )
    Episode.objects.create(
        client=client,
        therapist=world.therapist,
        modality="psychodynamic",
        start_date=ended - datetime.timedelta(days=400),
        end_date=ended,
        status="ended",
    )
    return client


def test_only_records_past_the_policy_with_no_open_episode_are_listed(world: World) -> None:
    old = _former_client(world, "Old", datetime.date(2019, 5, 31))
    recent = _former_client(world, "Recent", datetime.date(2019, 6, 2))
    # Treated as a child: born 2005, so kept until 7 years after turning 18 (2030).
    young = _former_client(
        world, "Young", datetime.date(2015, 1, 1), date_of_birth=datetime.date(2005, 4, 1)
    )
    back = _former_client(world, "Back", datetime.date(2010, 1, 1))
    Episode.objects.create(
        client=back,
        therapist=world.therapist,
        modality="psychodynamic",
        start_date=datetime.date(2026, 1, 1),
        status="active",
    )

    assert review.review(today=TODAY) == {"added": 1, "changed": 0, "removed": 0}
    row = RetentionCandidate.objects.get()
    assert (row.client, row.last_ended_on, row.keep_until) == (
        old,
        datetime.date(2019, 5, 31),
        datetime.date(2026, 5, 31),
    )
    assert not RetentionCandidate.objects.filter(client__in=[recent, young, back]).exists()
    # Nothing is erased: the record is all there.
    assert Episode.objects.filter(client=old).count() == 1


def test_a_record_leaves_the_list_when_it_is_no_longer_due(world: World) -> None:
    old = _former_client(world, "Old", datetime.date(2010, 1, 1))
    review.review(today=TODAY)
    assert RetentionCandidate.objects.filter(client=old).exists()
    actions.set_retention_policy(
        trail.Context(user=world.admin), years_after_last_episode=20, years_after_majority=7
    )
    assert review.review(today=TODAY)["removed"] == 1
    assert not RetentionCandidate.objects.exists()
    assert review.review(today=TODAY) == {"added": 0, "changed": 0, "removed": 0}


def test_the_worker_job_audits_what_it_lists(world: World) -> None:
    old = _former_client(world, "Old", datetime.date(2000, 1, 1))
    worker.REGISTRY["lifecycle.retention_review"].func()
    entry = AuditEntry.objects.get(object_type="lifecycle.retentioncandidate")
    assert (entry.action, entry.client_id) == ("create", old.pk)
    assert entry.actor_label == "system:worker.lifecycle.retention_review"


def test_the_admin_sees_the_list_and_sets_the_policy(world: World, as_user) -> None:
    old = _former_client(world, "Old", datetime.date(2000, 1, 1))
    review.review(today=timezone.localdate())
    http = as_user("admin")
    page = http.get(reverse("lifecycle:retention")).content.decode()
    assert reverse("care:client", args=[old.pk]) in page
    assert "nobody has set the policy yet" in page
    response = http.post(
        reverse("lifecycle:retention"),
        {"years_after_last_episode": "20", "years_after_majority": "7"},
    )
    assert response.status_code == 302
    policy = RetentionPolicy.objects.get(practice=world.practice)
    assert (policy.years_after_last_episode, policy.years_after_majority) == (20, 7)
    entry = AuditEntry.objects.get(object_type="lifecycle.retentionpolicy")
    assert (entry.action, entry.actor) == ("create", world.admin)
    assert entry.detail == {"before": [7, 7], "after": [20, 7]}


@pytest.mark.parametrize(
    "data",
    [
        {"years_after_last_episode": "0", "years_after_majority": "7"},
        {"years_after_last_episode": "seven", "years_after_majority": "7"},
        {"years_after_last_episode": "7"},
    ],
)
def test_bad_years_are_refused_clearly_and_change_nothing(world: World, as_user, data) -> None:
    response = as_user("admin").post(reverse("lifecycle:retention"), data)
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert not RetentionPolicy.objects.exists()


def test_only_an_admin_may_set_the_policy(world: World) -> None:
    with pytest.raises(actions.LifecycleActionError):
        actions.set_retention_policy(
            trail.Context(user=world.therapist), years_after_last_episode=1, years_after_majority=0
        )
