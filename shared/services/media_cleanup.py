"""Removing stored media safely: now when storage answers, otherwise through a recorded, retried job."""

from __future__ import annotations

import logging
import uuid

from shared import db, errors, jobs
from shared.node import media_node
from shared.storage import StoredFile, get_storage

log = logging.getLogger(__name__)


def record_deletion(public_id: str, resource_type: str, *, storage: str, node: str | None) -> uuid.UUID:
    """A recorded `delete_media` job (in the caller's transaction when there is one) for a file in `storage`;
    `node`: the node whose disk holds it (local storage), None for a shared store."""
    return jobs.enqueue("delete_media", {"public_id": public_id, "resource_type": resource_type, "storage": storage},
                        node=node)


def discard(stored: list[StoredFile]) -> None:
    """Compensation for a write that failed: remove what it stored, or record the removal for later."""
    storage = get_storage()
    for item in stored:
        try:
            storage.delete(item.public_id, resource_type=item.resource_type)
        except errors.AppError:
            try:
                with db.transaction():
                    # This process stored the file, so with local storage it is on this node's disk.
                    record_deletion(item.public_id, item.resource_type, storage=storage.name, node=media_node())
            except errors.AppError:
                log.error("orphaned %s: neither storage nor the database answered", item.public_id)


def schedule_deletion(public_id: str, resource_type: str) -> None:
    """Delete a stored file that a committed change no longer uses: recorded first, then tried at once."""
    with db.transaction():
        # Pinned to this node with local storage: the node that took the replacement is where the old file was
        # uploaded too, as long as one user's uploads reach one node (they do on one box).
        job_id = record_deletion(public_id, resource_type, storage=get_storage().name, node=media_node())
    if not db.in_transaction():
        jobs.run_now(job_id)
