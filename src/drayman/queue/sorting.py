"""Where a job sorted by file type goes: its category's folder, read from the database.

The decision is made once, when the job's real name is known (after the
server's first answer), and stored with that name in one write (see
:meth:`~drayman.storage.JobStore.set_name`): the ``.part`` is then created
in the category's folder, so nothing is ever moved, and a crash between the
decision and the final rename finds the name, the folder and the ``.part``
where the decision put them.
"""

from __future__ import annotations

import logging
import os

from drayman.categories import (
    ENABLED_SETTING,
    TABLE_SETTING,
    Categories,
    InvalidCategory,
    decide,
    from_settings,
)
from drayman.jobs import Job
from drayman.storage import JobStore

log = logging.getLogger(__name__)


async def stored_categories(store: JobStore) -> Categories:
    """The switch and the table; :class:`InvalidCategory` if the table was hand-edited wrong."""
    enabled = await store.get_setting(ENABLED_SETTING)
    table = await store.get_setting(TABLE_SETTING)
    return from_settings(enabled, table)


async def sorted_folder(
    store: JobStore, job: Job, file_name: str, content_type: str | None
) -> str | None:
    """The folder ``job``'s file goes to, or None where it stays in ``dest_dir``
    (not a sorted job, sorting turned off, or a table that cannot be read)."""
    if not job.sort_by_type or job.file_name is not None:
        return None
    try:
        categories = await stored_categories(store)
    except InvalidCategory as exc:
        log.warning("job %d: not sorted by file type: %s", job.id, exc)
        return None
    if not categories.enabled:
        return None
    category = decide(categories, file_name, content_type)
    return os.path.join(job.chosen_dir, *category.parts)
