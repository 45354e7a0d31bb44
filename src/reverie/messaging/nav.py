from reverie.accounts.models import User
from reverie.core.nav import NavItem
from reverie.messaging import queries


def _unread(user: User) -> int:
    return queries.unread_for(user)


def _in_use(user: User) -> bool:
    """The Messages entry shows only in a practice that uses messages."""
    return queries.practice_enabled(user.practice_id)


ITEMS = [
    NavItem(
        "Messages",
        "messaging:mine",
        ("client",),
        order=22,
        badge=_unread,
        badge_label="unread",
        visible=_in_use,
    ),
    NavItem(
        "Messages",
        "messaging:inbox",
        ("therapist",),
        order=12,
        badge=_unread,
        badge_label="unread",
        visible=_in_use,
    ),
    NavItem("Messaging", "messaging:settings", ("admin",), order=75),
]
