"""Every change to the clinical record, each writing its audit entry in the same
transaction as the change. Views and API handlers call these; they do not save clinical
models themselves."""

from reverie.care.actions.alerts import (
    CareActionError,
    acknowledge_alert,
    alert_recipients,
    escalate_unacknowledged,
    grant_access,
    raise_alert,
    restate_alert,
    revoke_grant,
)
from reverie.care.actions.notes import (
    add_addendum,
    save_progress_note,
    sign_progress_note,
)
from reverie.care.actions.record import (
    change_frequency,
    create_client,
    end_episode,
    link_portal_account,
    open_episode,
    set_episode_status,
    update_client,
)
from reverie.care.actions.sessions import (
    add_break,
    change_series_from,
    create_calendar_feed,
    create_series,
    extend_running_series,
    materialize_series,
    record_attendance,
    revoke_calendar_feed,
    send_due_reminders,
    set_video_link,
    set_video_room,
)

__all__ = [
    "CareActionError",
    "acknowledge_alert",
    "add_addendum",
    "add_break",
    "alert_recipients",
    "change_frequency",
    "change_series_from",
    "create_calendar_feed",
    "create_client",
    "create_series",
    "end_episode",
    "escalate_unacknowledged",
    "extend_running_series",
    "grant_access",
    "link_portal_account",
    "materialize_series",
    "open_episode",
    "raise_alert",
    "record_attendance",
    "restate_alert",
    "revoke_calendar_feed",
    "revoke_grant",
    "save_progress_note",
    "send_due_reminders",
    "set_episode_status",
    "set_video_link",
    "set_video_room",
    "sign_progress_note",
    "update_client",
]
