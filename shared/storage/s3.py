"""Media in one S3 (or S3-compatible) bucket through boto3: a prefix per kind (FOLDERS), HLS output under hls/.

Published media are delivered from MEDIA_BASE_URL (a CDN in front of the bucket) when set, else straight from the
bucket. Who may read an object is said by its tag, visibility=public or private, which follows its video's state
(`save`, `publish_hls`, `set_visibility`): the bucket policy (README, Playback) lets anyone, or the CDN, read only the
public ones. Media of unpublished videos go out only as presigned GET URLs. An unpublished video's HLS playlists come
through our media route instead (signed by us, like the local store's), with their segment lines rewritten into
presigned URLs: a player resolves a playlist's relative URIs against the playlist's own URL, so a presigned playlist
alone would lead it to unsigned segments.
"""

from __future__ import annotations

import logging
import posixpath
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared import errors
from shared.media.probe import probe_video
from shared.media.types import ARCHIVE_TYPES, IMAGE_TYPES, VIDEO_TYPES, sniff, sniff_file
from shared.storage import scratch
from shared.storage.base import (
    FOLDERS,
    HLS_TYPES,
    MEDIA_ROUTE,
    PRIVATE_CAPABLE,
    SIGNED_URL_TTL,
    Assembly,
    DirectUpload,
    DiskFile,
    PublishedStream,
    StoredFile,
    StoredObject,
    StreamEvent,
    UrlSigner,
)
from shared.storage.s3_multipart import S3MultipartAssembly

log = logging.getLogger(__name__)

MB = 1024 * 1024
# Managed transfers in 8 MB parts, four at a time: a 100 MB video never sits in memory, at most ~32 MB of it does.
TRANSFER = TransferConfig(multipart_threshold=8 * MB, multipart_chunksize=8 * MB, max_concurrency=4)
# Every key is random (media) or inside a fresh generation folder (HLS) and never rewritten: cacheable for good.
IMMUTABLE = "public, max-age=31536000, immutable"
# But a progressive stream's master playlist, rewritten as renditions finish (players re-read it): briefly.
GROWING = "public, max-age=5"
# The tag the bucket policy grants anonymous reads on (README, Playback): visibility=public only.
VISIBILITY_TAG = "visibility"
TAGGING_THREADS = 8  # a stream folder is hundreds of objects, each tagged by a request of its own
LIST_PAGE = 1000  # keys per listing page: the most S3 lists at once, and the most one DeleteObjects takes
_FORMATS = {**IMAGE_TYPES, **VIDEO_TYPES, **ARCHIVE_TYPES}  # MIME type → the format (extension) we record
# A media key: <folder>/<32 hex>, with the extension `save` gives it (a direct upload's key has none: its bytes,
# unknown when the key is signed, tell the type).
_MEDIA_KEY = re.compile(r"^(avatars|covers|thumbnails|videos|exports)/[0-9a-f]{32}(\.(jpg|png|webp|mp4|webm|mkv|mov|zip))?$")
# HLS output: hls/<video id>/<generation>/master.m3u8 | poster.jpg | <rung>/index.m3u8 | <rung>/seg_NNN.ts
_STREAM_FILE = ("(master\\.m3u8|poster\\.jpg|\\d{2,4}p/(index\\.m3u8|seg_\\d{3,5}\\.ts)"
                "|storyboard/(thumbs\\.vtt|sprite_\\d{3,5}\\.jpg))")  # storyboard: shared.media.storyboard
_STREAM_KEY = re.compile(rf"^hls/([0-9a-f-]{{36}})/[0-9a-f]{{32}}/{_STREAM_FILE}$")
_STREAM_RELATIVE = re.compile(rf"^{_STREAM_FILE}$")


def _visibility(private: bool) -> str:
    """The tag (URL-encoded, as S3 takes it on upload) that the bucket policy reads: only `public` is readable by
    anyone."""
    return f"{VISIBILITY_TAG}={'private' if private else 'public'}"


def _not_there(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound")


def _stream_of(video_id: str) -> str | None:
    """hls/<video id> for a real UUID, else None: a stream prefix never names anything but one video's output."""
    try:
        return f"hls/{uuid.UUID(video_id)}"
    except ValueError:
        return None


class S3Storage:
    name = "s3"
    node_local = False  # any node (or worker) reaches the bucket
    makes_own_streams = False  # we transcode; `publish_hls` uploads the output
    tracks_visibility = True  # objects tagged visibility=public are what the bucket policy lets anyone read

    def __init__(self, bucket: str, *, endpoint_url: str | None, addressing: str, media_base_url: str | None,
                 public_url: str, secret: str, scratch_dir: Path, upload_ttl: int) -> None:
        self.bucket = bucket
        self.media_base_url = media_base_url.rstrip("/") if media_base_url else None
        self.public_url = public_url.rstrip("/")
        self.scratch_dir = scratch_dir
        self.upload_ttl = upload_ttl
        self._signer = UrlSigner(secret)
        # Checksums only where S3 requires them: newer botocore adds CRC32 headers to every upload by default,
        # which several S3-compatible stores refuse.
        config = Config(signature_version="s3v4", s3={"addressing_style": addressing}, retries={"mode": "standard"},
                        request_checksum_calculation="when_required", response_checksum_validation="when_required")
        # A session of its own: clients are safe to share between threads, boto3's default session is not.
        # Credentials and region: boto3's usual chain. endpoint_url None: AWS_ENDPOINT_URL, else AWS's for the region.
        session = boto3.session.Session()
        self._s3: Any = session.client("s3", endpoint_url=endpoint_url, config=config)
        # The same addressing unsigned: the plain URL of a public object, shaped by botocore as requests are.
        self._plain: Any = session.client("s3", endpoint_url=endpoint_url,
                                          config=config.merge(Config(signature_version=UNSIGNED)))

    # -------------------------------------------------------------------------- storing and delivering

    def save(self, path: Path, *, kind: str, mime: str, private: bool = True) -> StoredFile:
        key = self._new_key(kind, mime)
        visibility = _visibility(private and kind in PRIVATE_CAPABLE)
        try:
            # A managed transfer: multipart above 8 MB, read from the file part by part; a failed one is aborted.
            self._s3.upload_file(str(path), self.bucket, key, Config=TRANSFER,
                                 ExtraArgs={"ContentType": mime, "CacheControl": IMMUTABLE, "Tagging": visibility})
        except (Boto3Error, BotoCoreError, ClientError, OSError) as exc:
            log.error("s3 upload of %s failed: %s", kind, exc)
            raise errors.StorageFailed(f"Error uploading {kind}") from exc
        return self._stored(key, kind, path.stat().st_size)

    def _new_key(self, kind: str, mime: str) -> str:
        return f"{FOLDERS[kind][0]}/{uuid.uuid4().hex}.{_FORMATS[mime]}"

    def _stored(self, key: str, kind: str, size: int) -> StoredFile:
        resource_type = FOLDERS[kind][1]
        return StoredFile(public_id=key, url=self.url_for(key, resource_type=resource_type, private=False),
                          resource_type=resource_type, size=size, format=key.rsplit(".", 1)[1])

    def delete(self, public_id: str, *, resource_type: str) -> None:
        if resource_type == "hls":  # a video's whole stream: every generation under hls/<video id>/
            stream = _stream_of(public_id.removeprefix("hls/")) if public_id.startswith("hls/") else None
            if stream is not None:
                self._delete_under(f"{stream}/")
            return
        if not _MEDIA_KEY.match(public_id):
            return  # not one of our keys: nothing of ours to remove
        try:
            self._s3.delete_object(Bucket=self.bucket, Key=public_id)  # S3 answers 204 for a missing key too
        except (BotoCoreError, ClientError) as exc:
            raise errors.StorageFailed("Error deleting media") from exc

    def set_visibility(self, media: list[tuple[str, str]], *, private: bool) -> None:
        """Tag every object (each file of a stream folder too) visibility=public or private, a few at once."""
        keys: list[str] = []
        for public_id, resource_type in media:
            stream = _stream_of(public_id.removeprefix("hls/")) if public_id.startswith("hls/") else None
            if resource_type == "hls" and stream is not None:
                keys += self._keys_under(f"{stream}/")
            elif resource_type != "hls" and _MEDIA_KEY.match(public_id):
                keys.append(public_id)
        tagging = {"TagSet": [{"Key": VISIBILITY_TAG, "Value": "private" if private else "public"}]}

        def tag(key: str) -> None:
            try:
                self._s3.put_object_tagging(Bucket=self.bucket, Key=key, Tagging=tagging)
            except ClientError as exc:
                if not _not_there(exc):  # gone meanwhile (replaced, deleted): nothing to hide or show
                    raise

        try:
            with ThreadPoolExecutor(max_workers=TAGGING_THREADS) as pool:
                list(pool.map(tag, keys))
        except (BotoCoreError, ClientError) as exc:
            raise errors.StorageFailed("Could not change who may read the media") from exc

    def url_for(self, public_id: str, *, resource_type: str, private: bool) -> str:
        return self._presigned(public_id) if private else self._public(public_id)

    def delivery_url(self, public_id: str, *, resource_type: str, private: bool, stored_url: str) -> str:
        # Made afresh: a public URL follows MEDIA_BASE_URL as configured now, a private one needs a fresh signature.
        return self.url_for(public_id, resource_type=resource_type, private=private)

    def hls_url(self, master_public_id: str, *, private: bool) -> str:
        """A published stream straight from the CDN or bucket; an unpublished one's master playlist through our
        media route, signed over the whole stream (its playlists then carry presigned segment URLs)."""
        found = _STREAM_KEY.match(master_public_id)
        if not private or found is None:
            return self._public(master_public_id)
        return f"{self.public_url}{MEDIA_ROUTE}/{master_public_id}?{self._signer.query(f'hls/{found.group(1)}')}"

    def poster_url(self, poster_public_id: str, *, private: bool) -> str:
        return self.url_for(poster_public_id, resource_type="image", private=private)

    def signed_url_valid(self, public_id: str, expires: str | None, signature: str | None) -> bool:
        # S3 checks its own presigned URLs; ours are only the playlists of unpublished streams (see `hls_url`).
        found = _STREAM_KEY.match(public_id)
        if found is None or not public_id.endswith((".m3u8", ".vtt")):
            return False
        return self._signer.valid(f"hls/{found.group(1)}", expires, signature)

    def stream_playlist(self, public_id: str, *, signed_query: str) -> str | None:
        """The playlist from the bucket: rendition playlists stay relative (they come back to our route, with the
        signature), segments become presigned URLs of the same generation's objects."""
        if not _STREAM_KEY.match(public_id) or not public_id.endswith((".m3u8", ".vtt")):
            return None
        try:
            text = self._s3.get_object(Bucket=self.bucket, Key=public_id)["Body"].read().decode("utf-8", "replace")
        except ClientError as exc:
            if _not_there(exc):
                return None
            raise errors.StorageFailed("Could not read the stream from storage") from exc
        except BotoCoreError as exc:
            raise errors.StorageFailed("Could not read the stream from storage") from exc
        folder, generation = public_id.rsplit("/", 1)[0], "/".join(public_id.split("/", 3)[:3])
        lines = []
        for line in text.splitlines():
            uri, _, fragment = line.strip().partition("#") if public_id.endswith(".vtt") else (line.strip(), "", "")
            key = posixpath.normpath(f"{folder}/{uri}")
            if fragment and uri and "-->" not in line and _STREAM_KEY.match(key) and key.startswith(f"{generation}/"):
                lines.append(f"{self._presigned(key)}#{fragment}")  # a storyboard tile: its sheet, presigned
                continue
            if not uri or uri.startswith("#") or not key.startswith(f"{generation}/") or not _STREAM_KEY.match(key):
                lines.append(line)  # tags, and anything that is not a file of this generation, as written
            elif uri.endswith(".m3u8"):
                lines.append(f"{uri}?{signed_query}" if signed_query else uri)
            else:
                lines.append(self._presigned(key))
        return "\n".join(lines) + "\n"

    # -------------------------------------------------------------------------- reading what is stored

    def describe(self, public_id: str, *, resource_type: str) -> StoredObject | None:
        """Size from the bucket, type from the first bytes (never the uploader's Content-Type); a video is
        downloaded to a scratch file and probed there, as the local store probes its own file."""
        if not _MEDIA_KEY.match(public_id):
            return None
        try:
            head = self._s3.head_object(Bucket=self.bucket, Key=public_id)
        except ClientError as exc:
            if _not_there(exc):
                return None
            raise errors.StorageFailed("Could not read the uploaded file from storage") from exc
        except BotoCoreError as exc:
            raise errors.StorageFailed("Could not read the uploaded file from storage") from exc
        size = int(head["ContentLength"])
        if resource_type != "video" or size == 0:
            return StoredObject(size=size, format=self._sniffed_format(public_id, size))
        with self.working_copy(public_id, resource_type=resource_type) as path:
            fmt = _FORMATS.get(sniff_file(path) or "", "")
            facts = probe_video(path)  # a ProbeError when it is not a readable video
        return StoredObject(size=size, format=fmt, duration=facts.duration, width=facts.width, height=facts.height)

    def disk_file(self, public_id: str) -> DiskFile | None:
        return None  # every byte lives in the bucket

    def _sniffed_format(self, key: str, size: int) -> str:
        if size == 0:
            return ""
        try:
            head = self._s3.get_object(Bucket=self.bucket, Key=key, Range="bytes=0-63")["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise errors.StorageFailed("Could not read the uploaded file from storage") from exc
        return _FORMATS.get(sniff(head) or "", "")

    @contextmanager
    def working_copy(self, public_id: str, *, resource_type: str) -> Iterator[Path]:
        """The object downloaded (in parts, never whole in memory) into this process's scratch folder, removed when
        the block ends, whatever happens."""
        if not _MEDIA_KEY.match(public_id):
            raise errors.NotFound("Media file not found in storage")
        with scratch.scratch_folder(self.scratch_dir, "s3-") as folder:
            path = folder / "object"
            try:
                self._s3.download_file(self.bucket, public_id, str(path), Config=TRANSFER)
            except ClientError as exc:
                if _not_there(exc):
                    raise errors.NotFound("Media file not found in storage") from exc
                raise errors.StorageFailed("Could not read the uploaded file from storage") from exc
            except OSError as exc:
                if errors.out_of_space(exc):
                    raise errors.InsufficientStorage("Not enough scratch space on the server to read media") from exc
                raise errors.StorageFailed("Could not read the uploaded file from storage") from exc
            except (Boto3Error, BotoCoreError) as exc:
                raise errors.StorageFailed("Could not read the uploaded file from storage") from exc
            yield path

    # -------------------------------------------------------------------------- direct uploads

    def direct_upload_id(self, kind: str) -> str | None:
        return f"{FOLDERS[kind][0]}/{uuid.uuid4().hex}"  # fixed now: the presigned PUT is for this key alone

    def sign_upload(self, *, upload_id: uuid.UUID, public_id: str | None, kind: str,
                    content_type: str) -> DirectUpload:
        """A presigned PUT straight to the bucket; the Content-Type is part of the signature, so it is sent as told."""
        if public_id is None:
            raise errors.InternalError("An S3 upload is signed for the key from direct_upload_id")
        url = self._s3.generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": public_id, "ContentType": content_type},
            ExpiresIn=self.upload_ttl)
        return DirectUpload(method="PUT", url=url, public_id=public_id, headers={"Content-Type": content_type})

    def upload_signature_valid(self, upload_id: uuid.UUID, expires: str | None, signature: str | None) -> bool:
        return False  # the bytes go straight to the bucket, never through our upload endpoint

    # -------------------------------------------------------------------------- adaptive streams (HLS)

    def hls_workdir(self, video_id: uuid.UUID) -> Path:
        return scratch.new_folder(self.scratch_dir, f"hls-{video_id}-")  # publish_hls removes it

    def publish_hls(self, video_id: uuid.UUID, workdir: Path, *, private: bool = True) -> PublishedStream:
        """Upload the output under a new generation folder, then remove the earlier generations: a player reads one
        generation or the other, never a mix. The workdir is removed either way."""
        stream = f"hls/{video_id}"
        generation = f"{stream}/{uuid.uuid4().hex}"
        try:
            for path in sorted(p for p in workdir.rglob("*") if p.is_file()):
                relative = path.relative_to(workdir).as_posix()
                if not _STREAM_RELATIVE.match(relative):
                    continue  # only the files a stream is made of (never an encoder's leftovers)
                self._s3.upload_file(str(path), self.bucket, f"{generation}/{relative}", Config=TRANSFER,
                                     ExtraArgs={"ContentType": HLS_TYPES[path.suffix[1:]], "CacheControl": IMMUTABLE,
                                                "Tagging": _visibility(private)})
        except (Boto3Error, BotoCoreError, ClientError, OSError) as exc:
            self._forget(f"{generation}/")
            raise errors.StorageFailed("Could not publish the HLS stream") from exc
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        self._forget(f"{stream}/", keep=f"{generation}/")
        return PublishedStream(master_public_id=f"{generation}/master.m3u8",
                               poster_public_id=f"{generation}/poster.jpg")

    def stream_folder(self, video_id: uuid.UUID) -> str | None:
        return f"hls/{video_id}"

    def open_stream(self, video_id: uuid.UUID, *, resume: str | None) -> str:
        """The generation folder an interrupted try published into (`resume`), else a new one."""
        stream = f"hls/{video_id}"
        if resume and re.fullmatch(rf"{re.escape(stream)}/[0-9a-f]{{32}}", resume):
            return resume
        return f"{stream}/{uuid.uuid4().hex}"

    def publish_stream_files(self, folder: str, workdir: Path, names: list[str], *, private: bool) -> None:
        """Each file uploaded under the generation folder, in order (S3 is read-after-write consistent: a playlist
        uploaded after its segments never names a missing one). The master is the one key rewritten: a short cache."""
        if any(not _STREAM_KEY.match(f"{folder}/{name}") for name in names):
            raise errors.InternalError(f"not a file of a video's HLS output: {folder} {names}")
        try:
            for name in names:
                path = workdir / name
                self._s3.upload_file(str(path), self.bucket, f"{folder}/{name}", Config=TRANSFER,
                                     ExtraArgs={"ContentType": HLS_TYPES[path.suffix[1:]],
                                                "CacheControl": GROWING if name == "master.m3u8" else IMMUTABLE,
                                                "Tagging": _visibility(private)})
        except (Boto3Error, BotoCoreError, ClientError, OSError) as exc:
            raise errors.StorageFailed("Could not publish the HLS stream") from exc

    def retire_streams(self, video_id: uuid.UUID, *, keep: str) -> None:
        self._forget(f"hls/{video_id}/", keep=f"{keep}/")

    def read_notification(self, body: bytes | str, headers: Mapping[str, str]) -> StreamEvent | None:
        raise errors.NotFound("Route not found")  # S3 posts nothing to us

    # -------------------------------------------------------------------------- resumable uploads (tus)

    def resumable_assembly(self) -> Assembly:
        """Chunks gather in the bucket as a multipart upload of the final key (shared.storage.s3_multipart): nothing
        on this node's disk, and any node takes the next chunk."""
        return S3MultipartAssembly(self._s3, self.bucket, scratch_dir=self.scratch_dir, new_key=self._new_key,
                                   stored=self._stored,
                                   # Not readable by anyone until registered with a published video (set_visibility).
                                   object_args={"CacheControl": IMMUTABLE, "Tagging": _visibility(True)})

    # -------------------------------------------------------------------------- URLs and prefixes

    def _public(self, key: str) -> str:
        if self.media_base_url:
            return f"{self.media_base_url}/{quote(key)}"
        return str(self._plain.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key}))

    def _presigned(self, key: str) -> str:
        return str(self._s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                   ExpiresIn=SIGNED_URL_TTL))

    def _keys_under(self, prefix: str) -> list[str]:
        try:
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE})
            return [item["Key"] for page in pages for item in page.get("Contents", [])]
        except (BotoCoreError, ClientError) as exc:
            raise errors.StorageFailed("Could not list media in storage") from exc

    def _delete_under(self, prefix: str, *, keep: str | None = None) -> None:
        """Remove every object under `prefix` (but those under `keep`): one DeleteObjects per listed page."""
        try:
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE})
            for page in pages:
                doomed = [{"Key": item["Key"]} for item in page.get("Contents", [])
                          if keep is None or not item["Key"].startswith(keep)]
                if doomed:
                    result = self._s3.delete_objects(Bucket=self.bucket, Delete={"Objects": doomed, "Quiet": True})
                    if result.get("Errors"):
                        raise errors.StorageFailed(f"Error deleting media: {result['Errors'][0].get('Code')}")
        except (BotoCoreError, ClientError) as exc:
            raise errors.StorageFailed("Error deleting media") from exc

    def _forget(self, prefix: str, *, keep: str | None = None) -> None:
        """Best-effort removal of what a stream no longer uses: whatever stays is removed with the video (its
        whole hls/<video id>/ prefix goes then)."""
        try:
            self._delete_under(prefix, keep=keep)
        except errors.StorageFailed as exc:
            log.warning("could not remove %s from the bucket (removed with the video later): %s", prefix, exc)
