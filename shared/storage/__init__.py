"""Media storage behind one interface, chosen by the STORAGE setting: local disk or Cloudinary."""

from __future__ import annotations

import threading

from shared.settings import get_settings
from shared.storage.base import FOLDERS, PRIVATE_CAPABLE, DirectUpload, Storage, StoredFile

__all__ = ["FOLDERS", "PRIVATE_CAPABLE", "DirectUpload", "Storage", "StoredFile", "get_storage", "reset_storage"]

_storage: Storage | None = None
_lock = threading.Lock()


def get_storage() -> Storage:
    global _storage
    if _storage is None:
        with _lock:
            if _storage is None:
                settings = get_settings()
                if settings.storage == "cloudinary":
                    from shared.storage.cloudinary_store import CloudinaryStorage

                    _storage = CloudinaryStorage(settings.cloudinary_url or "")
                else:
                    from shared.storage.local import LocalStorage

                    _storage = LocalStorage(settings.media_dir, settings.public_url, settings.media_url_secret)
    return _storage


def reset_storage() -> None:
    global _storage
    with _lock:
        _storage = None
