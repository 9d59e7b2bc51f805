"""Removing stored media safely: now when storage answers, otherwise through a recorded, retried job."""

from __future__ import annotations

import logging

from shared import db, errors, jobs
from shared.storage import StoredFile, get_storage

log = logging.getLogger(__name__)


def discard(stored: list[StoredFile]) -> None:
    """Compensation for a write that failed: remove what it stored, or record the removal for later."""
    storage = get_storage()
    for item in stored:
        try:
            storage.delete(item.public_id, resource_type=item.resource_type)
        except errors.AppError:
            try:
                with db.transaction():
                    jobs.enqueue("delete_media", {"public_id": item.public_id, "resource_type": item.resource_type,
                                                  "storage": storage.name})
            except errors.AppError:
                log.error("orphaned %s: neither storage nor the database answered", item.public_id)


def schedule_deletion(public_id: str, resource_type: str) -> None:
    """Delete a stored file that a committed change no longer uses: recorded first, then tried at once."""
    with db.transaction():
        job_id = jobs.enqueue("delete_media", {"public_id": public_id, "resource_type": resource_type,
                                               "storage": get_storage().name})
    if not db.in_transaction():
        jobs.run_now(job_id)
