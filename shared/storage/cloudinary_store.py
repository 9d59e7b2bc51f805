"""Media on Cloudinary through the official SDK (HTTPS delivery URLs only).

Videos and thumbnails are uploaded as `authenticated` assets: they are delivered only through signed
URLs, which the API hands out for published videos and, for unpublished ones, to their owner alone.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import cloudinary
import cloudinary.api
import cloudinary.uploader
import cloudinary.utils
from cloudinary.exceptions import Error as CloudinaryError
from cloudinary.exceptions import NotFound as CloudinaryNotFound

from shared import errors
from shared.settings import get_settings
from shared.storage.assembly import Assembly, DiskAssembly
from shared.storage.base import (
    FOLDERS,
    PRIVATE_CAPABLE,
    PRIVATE_FOLDERS,
    DirectUpload,
    DiskFile,
    PublishedStream,
    StoredFile,
    StoredObject,
    StreamEvent,
)

log = logging.getLogger(__name__)

CHUNK_SIZE = 20 * 1024 * 1024
NOTIFICATION_VALID_FOR = 7200  # seconds: an older notification is a replay


def parse_cloudinary_url(url: str) -> dict[str, str]:
    """cloudinary://key:secret@cloud?upload_prefix=... → SDK config keys."""
    parsed = urlparse(url)
    if parsed.scheme != "cloudinary" or not parsed.hostname or not parsed.username or not parsed.password:
        raise errors.InternalError("CLOUDINARY_URL must look like cloudinary://api_key:api_secret@cloud_name")
    config = {"cloud_name": parsed.hostname, "api_key": unquote(parsed.username),
              "api_secret": unquote(parsed.password)}
    for key, values in parse_qs(parsed.query).items():
        config[key] = values[-1]
    return config


def _delivery_type(public_id: str) -> str:
    folder = public_id.split("/")[1] if public_id.startswith("viztube/") else ""
    return "authenticated" if folder in PRIVATE_FOLDERS else "upload"


class CloudinaryStorage:
    name = "cloudinary"
    node_local = False
    makes_own_streams = True  # eager sp_auto HLS, requested at upload and reported on our webhook
    tracks_visibility = False  # videos and thumbnails are authenticated assets: every delivery URL is signed

    def __init__(self, url: str) -> None:
        self.config = parse_cloudinary_url(url)
        cloudinary.config(secure=True, **self.config)
        self.cloud_name = self.config["cloud_name"]

    def new_public_id(self, kind: str) -> tuple[str, str, str]:
        """(folder, name, full public id) for a new asset of this kind."""
        folder = f"viztube/{FOLDERS[kind][0]}"
        name = uuid.uuid4().hex
        return folder, name, f"{folder}/{name}"

    def save(self, path: Path, *, kind: str, mime: str, private: bool = True) -> StoredFile:
        folder, name, _ = self.new_public_id(kind)
        resource_type = FOLDERS[kind][1]
        options = {"resource_type": resource_type, "folder": folder, "public_id": name, "overwrite": False,
                   "type": "authenticated" if kind in PRIVATE_CAPABLE else "upload",
                   **(self.eager_options() if kind == "video" else {})}
        try:
            if resource_type == "video":
                # Chunked: a 100 MB file goes up in 20 MB pieces, never read whole into memory.
                result = cloudinary.uploader.upload_large(str(path), chunk_size=CHUNK_SIZE, **options)
            else:
                result = cloudinary.uploader.upload(str(path), **options)
        except (CloudinaryError, OSError) as exc:
            log.error("cloudinary upload of %s failed: %s", kind, exc)
            raise errors.StorageFailed(f"Error uploading {kind}") from exc
        if not isinstance(result, dict) or not result.get("public_id"):
            raise errors.StorageFailed(f"Error uploading {kind}")
        return self._stored(result, resource_type)

    def _stored(self, result: dict[str, Any], resource_type: str) -> StoredFile:
        public_id = result["public_id"]
        return StoredFile(
            public_id=public_id,
            url=self.url_for(public_id, resource_type=resource_type, private=False),
            resource_type=result.get("resource_type", resource_type),
            size=int(result.get("bytes") or 0),
            format=str(result.get("format") or ""),
            duration=float(result["duration"]) if result.get("duration") is not None else None,
        )

    def set_visibility(self, media: list[tuple[str, str]], *, private: bool) -> None:
        return None  # delivered through signed URLs whatever the video's state

    def url_for(self, public_id: str, *, resource_type: str, private: bool) -> str:
        delivery = _delivery_type(public_id)
        url, _ = cloudinary.utils.cloudinary_url(public_id, resource_type=resource_type, type=delivery,
                                                 sign_url=delivery == "authenticated", secure=True)
        return url

    def delivery_url(self, public_id: str, *, resource_type: str, private: bool, stored_url: str) -> str:
        # Made afresh every time: delivery of authenticated assets is signed, and the signature is not stored.
        return self.url_for(public_id, resource_type=resource_type, private=private)

    def hls_url(self, master_public_id: str, *, private: bool) -> str:
        """Cloudinary's adaptive stream of a video (eager sp_auto HLS), as a signed HTTPS URL."""
        url, _ = cloudinary.utils.cloudinary_url(master_public_id, resource_type="video", type="authenticated",
                                                 streaming_profile="auto", format="m3u8", sign_url=True, secure=True)
        return url

    def poster_url(self, poster_public_id: str, *, private: bool) -> str:
        url, _ = cloudinary.utils.cloudinary_url(poster_public_id, resource_type="video", type="authenticated",
                                                 start_offset="auto", format="jpg", sign_url=True, secure=True)
        return url

    def signed_url_valid(self, public_id: str, expires: str | None, signature: str | None) -> bool:
        return False  # Cloudinary checks the signatures of its own delivery URLs; none come back to us

    def stream_playlist(self, public_id: str, *, signed_query: str) -> str | None:
        return None  # players fetch Cloudinary's streams from Cloudinary, never through us

    def resumable_assembly(self) -> Assembly:
        """Chunks gather in a file on this node's disk; the whole file is stored by `save`."""
        return DiskAssembly(get_settings().resumable_dir, self.save)

    def delete(self, public_id: str, *, resource_type: str) -> None:
        try:
            result = cloudinary.uploader.destroy(public_id, resource_type=resource_type, invalidate=True,
                                                 type=_delivery_type(public_id))
        except CloudinaryError as exc:
            raise errors.StorageFailed("Error deleting media") from exc
        if result.get("result") not in ("ok", "not found"):
            raise errors.StorageFailed(f"Error deleting media: {result.get('result')}")

    # -------------------------------------------------------------------------- reading what is stored

    def describe(self, public_id: str, *, resource_type: str) -> StoredObject | None:
        """What Cloudinary holds under a public id (size, format, duration), or None when nothing arrived."""
        try:
            found = cloudinary.api.resource(public_id, resource_type=resource_type, type=_delivery_type(public_id))
        except CloudinaryNotFound:
            return None
        except CloudinaryError as exc:
            raise errors.StorageFailed("Could not read the uploaded file from storage") from exc
        return StoredObject(size=int(found.get("bytes") or 0), format=str(found.get("format") or "").lower(),
                            duration=found.get("duration"), width=found.get("width"), height=found.get("height"))

    def disk_file(self, public_id: str) -> DiskFile | None:
        return None  # every byte lives on Cloudinary

    def working_copy(self, public_id: str, *, resource_type: str) -> AbstractContextManager[Path]:
        # Nothing of ours reads Cloudinary's media: it probes them at upload and makes their streams itself.
        raise errors.StorageUnsupported("Cloudinary works on its media itself")

    # -------------------------------------------------------------------------- direct uploads

    def direct_upload_id(self, kind: str) -> str | None:
        return self.new_public_id(kind)[2]  # fixed now: the upload signature covers it

    def sign_upload(self, *, upload_id: uuid.UUID, public_id: str | None, kind: str,
                    content_type: str) -> DirectUpload:
        """A signed browser-to-Cloudinary upload; the public id is fixed by the signature."""
        if public_id is None:
            raise errors.InternalError("A Cloudinary upload is signed for the public id from direct_upload_id")
        folder, name = public_id.rsplit("/", 1)
        resource_type = FOLDERS[kind][1]
        params: dict[str, Any] = {"timestamp": int(time.time()), "folder": folder, "public_id": name,
                                  "type": "authenticated" if kind in PRIVATE_CAPABLE else "upload",
                                  **(self.eager_options() if kind == "video" else {})}
        # Every field as the exact string the client will post back (a form has no booleans).
        params = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
        params["signature"] = cloudinary.utils.api_sign_request(params, self.config["api_secret"])
        params["api_key"] = self.config["api_key"]
        prefix = self.config.get("upload_prefix") or "https://api.cloudinary.com"
        return DirectUpload(method="POST", url=f"{prefix}/v1_1/{self.cloud_name}/{resource_type}/upload",
                            public_id=public_id, fields=params)

    def upload_signature_valid(self, upload_id: uuid.UUID, expires: str | None, signature: str | None) -> bool:
        return False  # the bytes go straight to Cloudinary, never through our upload endpoint

    # -------------------------------------------------------------------------- adaptive streams

    def eager_options(self) -> dict[str, Any]:
        """Ask Cloudinary to make the HLS ladder itself and to call our webhook when it is done."""
        return {"eager": "sp_auto/m3u8", "eager_async": True,
                "notification_url": f"{get_settings().public_url}/api/v2/webhooks/cloudinary"}

    def hls_workdir(self, video_id: uuid.UUID) -> Path:
        raise errors.StorageUnsupported("Cloudinary makes its own HLS streams")

    def publish_hls(self, video_id: uuid.UUID, workdir: Path, *, private: bool = True) -> PublishedStream:
        raise errors.StorageUnsupported("Cloudinary makes its own HLS streams")

    def stream_folder(self, video_id: uuid.UUID) -> str | None:
        return None  # derived from the video: Cloudinary removes the stream with it

    def open_stream(self, video_id: uuid.UUID, *, resume: str | None) -> str:
        raise errors.StorageUnsupported("Cloudinary makes its own HLS streams")

    def publish_stream_files(self, folder: str, workdir: Path, names: list[str], *, private: bool) -> None:
        raise errors.StorageUnsupported("Cloudinary makes its own HLS streams")

    def retire_streams(self, video_id: uuid.UUID, *, keep: str) -> None:
        return None  # nothing of ours was published there

    def read_notification(self, body: bytes | str, headers: Mapping[str, str]) -> StreamEvent | None:
        """Cloudinary's eager-transformation notice: its signature and age checked, then the stream's outcome."""
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        if not self._notification_signed(text, headers.get("x-cld-timestamp") or "",
                                         headers.get("x-cld-signature") or ""):
            raise errors.NotAuthenticated("Invalid or expired notification signature")
        try:
            notice = json.loads(text)
        except ValueError:
            raise errors.BadRequest("Malformed JSON body") from None
        if not isinstance(notice, dict):
            raise errors.BadRequest("Request body must be a JSON object")
        if notice.get("notification_type") != "eager" or not isinstance(notice.get("public_id"), str):
            return None
        results = [e for e in notice.get("eager") or [] if isinstance(e, dict)]
        failed = [e for e in results if e.get("status") == "failed" or e.get("error")]
        reason = str(failed[0].get("reason") or failed[0].get("error") or "") if failed else None
        return StreamEvent(video_public_id=notice["public_id"], ok=bool(results) and not failed, reason=reason)

    def _notification_signed(self, body: str, timestamp: str, signature: str) -> bool:
        """Cloudinary's webhook signature: SHA-1 over the raw body, the timestamp and our secret; fresh only."""
        if not timestamp.isdigit() or not signature:
            return False
        return bool(cloudinary.utils.verify_notification_signature(body, int(timestamp), signature,
                                                                   valid_for=NOTIFICATION_VALID_FOR))
