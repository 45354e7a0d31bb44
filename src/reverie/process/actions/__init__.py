"""Every change to process data, each writing its audit entry in the same transaction.

Views call these functions; they never save process models themselves. Errors are
:class:`ProcessActionError` with a message that is safe to show and names no clinical
text. Audit ``detail`` holds identifiers and flags only.

The functions live in one module per concern and are all importable from here, so
``from reverie.process import actions`` and ``actions.save_reflection(...)`` keep working:

* :mod:`.common` — the error type, role and access checks, text cleaning;
* :mod:`.reflections` — session reflections;
* :mod:`.episodes` — relationship episodes, CCRT grouping, category sets;
* :mod:`.journal` — the client's journal;
* :mod:`.themes` — recurring-theme searches and decisions on themes;
* :mod:`.notes` — process notes (saving and the audited, author-only read).
"""

from reverie.process.actions.common import ProcessActionError
from reverie.process.actions.episodes import (
    EPISODE_FIELDS,
    component_name,
    import_category_set,
    save_groups,
    save_relationship_episode,
    set_category_set_active,
    suggest_formulation_groups,
    ungrouped_episodes,
)
from reverie.process.actions.journal import (
    JOURNAL_FIELDS,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    clean_tags,
    create_journal_entry,
    delete_journal_entry,
    link_journal_entry,
    set_journal_sharing,
    update_journal_entry,
)
from reverie.process.actions.notes import read_process_note, save_process_note
from reverie.process.actions.reflections import save_reflection
from reverie.process.actions.themes import (
    cancel_theme_run,
    create_seeded_theme,
    judge_suggestion,
    queue_theme_run,
    recount_theme,
    update_theme,
)

__all__ = [
    "EPISODE_FIELDS",
    "JOURNAL_FIELDS",
    "MAX_TAGS",
    "MAX_TAG_LENGTH",
    "ProcessActionError",
    "cancel_theme_run",
    "clean_tags",
    "component_name",
    "create_journal_entry",
    "create_seeded_theme",
    "delete_journal_entry",
    "import_category_set",
    "judge_suggestion",
    "link_journal_entry",
    "queue_theme_run",
    "read_process_note",
    "recount_theme",
    "save_groups",
    "save_process_note",
    "save_reflection",
    "save_relationship_episode",
    "set_category_set_active",
    "set_journal_sharing",
    "suggest_formulation_groups",
    "ungrouped_episodes",
    "update_journal_entry",
    "update_theme",
]
