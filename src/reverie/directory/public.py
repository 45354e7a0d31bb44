"""What every public page shares: the practice's crisis card, the demo banner, whether
outcomes are published. Which practice the front door belongs to is
:mod:`reverie.accounts.practices` (re-exported here for the directory's pages)."""

from __future__ import annotations

from django.conf import settings

from reverie.accounts.models import Practice
from reverie.accounts.practices import public_practice, require_public_practice
from reverie.outcomes.models import PracticeSettings

__all__ = [
    "DEFAULT_CRISIS_INFO",
    "crisis_info",
    "page_context",
    "public_practice",
    "require_public_practice",
]

#: Shown on the crisis card when no practice is configured: the model's own default text.
DEFAULT_CRISIS_INFO: str = str(Practice._meta.get_field("crisis_info").get_default())


def crisis_info(practice: Practice | None) -> str:
    """The text of the crisis card for this practice."""
    return practice.crisis_info if practice is not None else DEFAULT_CRISIS_INFO


def page_context(practice: Practice | None) -> dict[str, object]:
    """Context every public page shares: the practice (for the title and the crisis card) and
    the demo banner, which must also show to anonymous visitors of the demo practice."""
    published = (
        practice is not None
        and PracticeSettings.objects.filter(practice=practice, publish_outcomes=True).exists()
    )
    return {
        "outcomes_published": published,
        "practice": practice,
        "public_practice": practice,
        "crisis_info": crisis_info(practice),
        "is_demo": settings.DEMO or bool(practice and practice.is_demo),
    }
