"""A therapist's own directory profile, its photo, and the admin's show/hide switch."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.directory import actions, photos
from reverie.directory.models import TherapistProfile
from reverie.directory.profiles import concern_key, directory_entries, profile_problems, to_profile
from reverie.testing import World


def profile_post(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "published": "on",
        "accepting_new": "on",
        "credentials": "LCSW",
        "pronouns": "they/them",
        "approach": "Slow, curious work on what keeps repeating.",
        "modalities": ["psychodynamic", "psychoanalysis"],
        "concerns": ["relationships", "grief"],
        "languages": "English,  Welsh , English",
        "fee": "140",
        "sliding_scale": "on",
        "sliding_scale_min": "70",
        "insurance": "",
        "telehealth": "on",
        "location": "",
        "identity": "Parent",
        "slots_1": ["18", "19"],
        "slots_4": ["9"],
    }
    data.update(overrides)
    return data


@pytest.fixture
def therapist(as_user):
    return as_user("therapist")


def test_a_therapist_writes_their_profile_and_it_is_audited(
    world: World, therapist, client, settings
) -> None:
    settings.PUBLIC_PRACTICE = world.practice.slug
    assert therapist.get(reverse("directory:profile_edit")).status_code == 200
    before = AuditEntry.objects.count()
    response = therapist.post(reverse("directory:profile_edit"), profile_post())
    assert response.status_code == 302
    profile = TherapistProfile.objects.get(user=world.therapist)
    assert profile.languages == ["English", "Welsh"]
    assert profile.weekly_slots == [[1, 18], [1, 19], [4, 9]]
    assert profile.sliding_scale_min == 70 and profile.identity == ["Parent"]
    [entry] = AuditEntry.objects.order_by("seq")[before:]
    assert (entry.action, entry.object_type, entry.object_id, entry.actor) == (
        "create",
        "directory.therapistprofile",
        str(profile.pk),
        world.therapist,
    )
    assert "fee" in entry.detail["fields"] and "approach" in entry.detail["fields"]
    listed = client.get(reverse("directory:therapists")).content.decode()
    assert "Theo Therapist" in listed and "Psychoanalysis" in listed
    # Saving the same again changes nothing and records nothing.
    before = AuditEntry.objects.count()
    therapist.post(reverse("directory:profile_edit"), profile_post())
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"fee": ""}, "fee", "A published profile needs a fee."),
        ({"languages": ""}, "languages", "A published profile needs at least one language."),
        ({"modalities": []}, "modalities", "Choose at least one approach."),
        ({"telehealth": ""}, "location", "Say where you see clients, or offer sessions by video."),
        (
            {"sliding_scale_min": "200"},
            "sliding_scale_min",
            "The lowest fee cannot be above your fee.",
        ),
        (
            {"sliding_scale_min": ""},
            "sliding_scale_min",
            "Give the lowest fee on your sliding scale.",
        ),
        ({"modalities": ["astrology"]}, "modalities", "Select a valid choice."),
        ({"slots_2": ["3"]}, "slots_2", "Select a valid choice."),
    ],
)
def test_an_incomplete_profile_is_refused_and_nothing_is_saved(
    world: World, therapist, overrides: dict[str, object], field: str, message: str
) -> None:
    response = therapist.post(reverse("directory:profile_edit"), profile_post(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not TherapistProfile.objects.exists()


def test_an_unpublished_draft_may_be_incomplete(world: World, therapist) -> None:
    response = therapist.post(
        reverse("directory:profile_edit"), {"accepting_new": "on", "approach": "Draft"}
    )
    assert response.status_code == 302
    profile = TherapistProfile.objects.get(user=world.therapist)
    assert not profile.published
    assert profile_problems(profile) == [
        "Add your fee so that people can see whether they can afford sessions.",
        "Add at least one language you work in.",
        "Choose at least one approach you offer.",
        "Say where you see clients, or offer sessions by video.",
    ]


def test_a_photo_is_re_encoded_without_metadata(world: World, therapist, jpeg) -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make, standing in for location and the like
    buffer = io.BytesIO()
    Image.new("RGB", (640, 400), "teal").save(buffer, "JPEG", exif=exif)
    upload = SimpleUploadedFile("me.jpg", buffer.getvalue(), content_type="image/jpeg")
    response = therapist.post(
        reverse("directory:profile_edit"), {**profile_post(), "photo": upload}
    )
    assert response.status_code == 302
    stored = bytes(TherapistProfile.objects.get(user=world.therapist).photo)
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG" and image.size == (photos.SIZE, photos.SIZE)
    assert b"PhoneMaker" not in stored and not image.getexif()
    entry = AuditEntry.objects.filter(object_type="directory.therapistprofile").latest("seq")
    assert "photo" in entry.detail["fields"]
    response = therapist.post(
        reverse("directory:profile_edit"), {**profile_post(), "remove_photo": "on"}
    )
    assert TherapistProfile.objects.get(user=world.therapist).photo is None


def test_a_file_that_is_not_an_image_is_refused(world: World, therapist) -> None:
    upload = SimpleUploadedFile("me.jpg", b"not really a photo", content_type="image/jpeg")
    response = therapist.post(
        reverse("directory:profile_edit"), {**profile_post(), "photo": upload}
    )
    assert response.status_code == 400
    assert not TherapistProfile.objects.exists()
    with pytest.raises(photos.PhotoError, match="could not be read"):
        photos.prepare(b"\x89PNG\r\n\x1a\nbroken")


def test_therapists_edit_only_their_own_profile(world: World) -> None:
    with pytest.raises(actions.DirectoryActionError, match="their own profile"):
        actions.save_profile(trail.Context(user=world.colleague), world.therapist, {"fee": 10})
    with pytest.raises(actions.DirectoryActionError, match="only therapists"):
        actions.save_profile(trail.Context(user=world.admin), world.admin, {"fee": 10})
    with pytest.raises(actions.DirectoryActionError, match="unknown profile fields"):
        actions.save_profile(trail.Context(user=world.therapist), world.therapist, {"photo": b""})


def test_the_admin_hides_and_shows_a_profile(
    world: World, profiles, as_user, client, settings
) -> None:
    settings.PUBLIC_PRACTICE = world.practice.slug
    admin = as_user("admin")
    text = admin.get(reverse("directory:profiles_admin")).content.decode()
    assert "Theo Therapist" in text and "Cora Colleague" in text
    before = AuditEntry.objects.count()
    url = reverse("directory:profile_publish", args=[profiles.colleague.pk])
    assert admin.post(url, {"published": "0"}).status_code == 302
    [entry] = AuditEntry.objects.order_by("seq")[before:]
    assert (entry.action, entry.object_id, entry.detail) == (
        "update",
        str(profiles.colleague.pk),
        {"published": False},
    )
    assert b"Cora Colleague" not in client.get(reverse("directory:therapists")).content
    admin.post(url, {"published": "1"})
    assert b"Cora Colleague" in client.get(reverse("directory:therapists")).content


def test_the_admin_of_another_practice_finds_no_profile(world: World, profiles, client) -> None:
    from reverie.testing import sign_in

    sign_in(client, world.stranger_admin)
    url = reverse("directory:profile_publish", args=[profiles.colleague.pk])
    assert client.post(url, {"published": "0"}).status_code == 404
    assert TherapistProfile.objects.get(pk=profiles.colleague.pk).published


@pytest.mark.parametrize(
    ("stored", "key"),
    [
        ("self-esteem", "self_esteem"),
        ("Substance use", "substance_use"),
        ("work  stress", "work_stress"),
        ("grief", "grief"),
        ("astrology", None),
        (7, None),
    ],
)
def test_stored_concerns_map_onto_the_shared_vocabulary(stored: object, key: str | None) -> None:
    assert concern_key(stored) == key


def test_the_matching_view_of_a_profile(world: World, profiles) -> None:
    model = profiles.colleague
    profile = to_profile(model, ((0, 9),))
    assert profile.modalities == ("cbt",)
    assert profile.concerns == ("anxiety", "panic")
    assert profile.sliding_scale_min_fee == 60 and profile.in_person_location is None
    assert profile.available


def test_a_broken_profile_is_left_out_rather_than_breaking_the_directory(
    world: World, profiles
) -> None:
    TherapistProfile.objects.filter(pk=profiles.colleague.pk).update(weekly_slots=[[9, 9]])
    entries = directory_entries(world.practice)
    assert [e.model.user for e in entries] == [world.therapist]
    model = TherapistProfile.objects.get(pk=profiles.colleague.pk)
    [problem] = profile_problems(model)
    assert "bad weekly slot [9, 9]" in problem
