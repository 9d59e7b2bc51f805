"""Media storage behind one interface, chosen by the STORAGE setting: local disk, Cloudinary or an S3 bucket.

This module is the one place that names a backend (`get_storage`, `get_disk_store`); everything else speaks the
`Storage` protocol.
"""

from __future__ import annotations

import threading

from shared.settings import get_settings
from shared.storage.base import (
    FOLDERS,
    PRIVATE_CAPABLE,
    DirectUpload,
    DiskFile,
    PublishedStream,
    Storage,
    StoredFile,
    StoredObject,
    StreamEvent,
)

__all__ = ["FOLDERS", "PRIVATE_CAPABLE", "DirectUpload", "DiskFile", "PublishedStream", "Storage", "StoredFile",
           "StoredObject", "StreamEvent", "get_disk_store", "get_storage", "reset_storage"]

_storage: Storage | None = None
_disk_store: Storage | None = None
_lock = threading.Lock()


def get_storage() -> Storage:
    """The store new media go to, as the STORAGE setting says."""
    global _storage
    if _storage is None:
        with _lock:
            if _storage is None:
                settings = get_settings()
                # Imported only when chosen: a deployment loads the SDK of the backend it runs, not the other's.
                if settings.storage == "cloudinary":
                    from shared.storage.cloudinary_store import CloudinaryStorage

                    _storage = CloudinaryStorage(settings.cloudinary_url or "")
                elif settings.storage == "s3":
                    from shared.storage.s3 import S3Storage

                    _storage = S3Storage(settings.s3_bucket or "", endpoint_url=settings.s3_endpoint_url,
                                         addressing=settings.s3_addressing, media_base_url=settings.media_base_url,
                                         public_url=settings.public_url, secret=settings.media_url_secret,
                                         scratch_dir=settings.scratch_dir, upload_ttl=settings.upload_ttl_seconds)
                else:
                    _storage = _local_store()
    return _storage


def get_disk_store() -> Storage:
    """The store of the files on this node's disk, which /api/v2/media serves: the configured store where it keeps
    files here, else the local store under VIZTUBE_HOME/media. The route has always served that folder whatever
    STORAGE says (a Lambda container's /tmp included), so files put there before or beside a remote backend stay
    reachable through the URLs they were given."""
    global _disk_store
    storage = get_storage()
    if storage.node_local:
        return storage
    if _disk_store is None:
        with _lock:
            if _disk_store is None:
                _disk_store = _local_store()
    return _disk_store


def _local_store() -> Storage:
    from shared.storage.local import LocalStorage  # imported when used, like the other backend's SDK

    settings = get_settings()
    return LocalStorage(settings.media_dir, settings.public_url, settings.media_url_secret)


def reset_storage() -> None:
    global _storage, _disk_store
    with _lock:
        _storage = _disk_store = None
