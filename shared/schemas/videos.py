"""Video shapes: the original's VideoRecord (all 16 columns, in order) plus additive facts, owner briefs, and what
the video routes take, with their rules and the original's messages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from chalice.app import Request
from pydantic import Field, model_validator

from shared import errors
from shared.schemas import Count, File, FormIn, In, OptionalFile, Out, Text, Timestamp, field, required_file
from shared.schemas.playback import CaptionTrack, WatchPosition
from shared.schemas.privacy import PrivacyIn
from shared.schemas.streams import RenditionState, Storyboard
from shared.schemas.tags import TagsFormIn, TagsIn, normalize_tag
from shared.sql.videos import SORTS
from shared.text import single_line_problems
from shared.web.request import page_params, parse_uuid, query_param

MAX_TITLE = 500
MAX_DESCRIPTION = 10_000
UPLOAD_KINDS = ("video", "thumbnail", "avatar", "coverImage")
COMMENT_POLICIES = ("open", "closed", "approval")


class OwnerBrief(Out):
    fullname: str
    username: str
    avatar: str


class OwnerWithSubscribers(OwnerBrief):
    subscribers_count: int


class VideoRecord(Out):
    id: uuid.UUID
    video_file_url: str
    video_file_public_id: str
    thumbnail_url: str
    thumbnail_public_id: str
    title: str
    description: str
    views: int
    duration: float
    is_published: bool
    user_id: uuid.UUID
    created_at: Timestamp
    updated_at: Timestamp
    processing_status: str
    has_transcript: bool
    allow_public_qna: bool = Field(serialization_alias="allowPublicQnA")


class VideoOut(VideoRecord):
    """VideoRecord plus what this backend adds (clients ignore unknown fields)."""

    processing_error: str | None = None
    width: int | None = None
    height: int | None = None
    hls_url: str | None = None
    poster_url: str | None = None
    comment_policy: str = Field("open", description="open | closed | approval (new comments held for the owner)")
    privacy: str = Field("public", description="public | unlisted | private (isPublished: privacy is public)")
    publish_at: Timestamp | None = Field(None, description="When a scheduled (private) video turns public")
    taken_down: bool = Field(False, description="Taken down by the moderators: seen by its owner and the moderators"
                             " only, listed nowhere; its privacy can no longer change")
    tags: list[str] = Field([], description="Normalised tags (lowercase, at most 10); GET /videos?tag= filters on one")
    captions: list[CaptionTrack] = Field([], description="Caption tracks, by language (also in the HLS master "
                                                         "playlist as its SUBTITLES group)")
    playable: bool = Field(False, description="Can be watched now: true as soon as the first HLS rendition is "
                           "published, while processingStatus is still PROCESSING (hlsUrl then lists the renditions "
                           "made so far; re-read it to see more)")
    renditions: list[RenditionState] = Field([], description="The HLS ladder, lowest first, with each rendition's "
                                             "progress")
    storyboard: Storyboard | None = Field(None, description="Seek previews (a WebVTT thumbnails track over sprite "
                                          "sheets); null until made, and for streams made by the store itself")


class VideoWithOwner(VideoOut):
    user: OwnerBrief


class VideoDetail(VideoOut):
    """A video's watch page: its owner with the subscriber count, the video's like count, and whether the viewer
    likes it and subscribes to its channel (additions: the original's watch page needed three calls for them)."""

    likes_count: int
    is_liked: bool
    is_subscribed: bool
    user: OwnerWithSubscribers
    watch_position: WatchPosition | None = Field(None, description="Where the caller stopped (null: never reported)")


class WatchedVideo(VideoWithOwner):
    """A video in the caller's watch history or "continue watching" list, with where they stopped in it."""

    watch_position: WatchPosition | None = Field(None, description="Where the caller stopped (null: never reported)")


class PublishedVideo(Out):
    video: VideoOut


class VideoPage(Out):
    """A page of published videos, in the original's paginated shape."""

    docs: list[VideoWithOwner]
    total_docs: int
    limit: int
    page: int
    total_pages: int
    has_next_page: bool
    has_prev_page: bool


class SignedUpload(Out):
    """Where and how to send a direct upload's bytes, until when."""

    upload_id: uuid.UUID
    method: str
    url: str
    headers: dict[str, str] | None = None  # to send with the bytes, when the store wants some
    fields: dict[str, Any] | None = None  # form fields to post with the file, when the store takes a form
    expires_at: Timestamp


class UploadReceived(Out):
    """What the local store received for a direct upload."""

    upload_id: uuid.UUID
    size: int
    content_type: str


class NotificationHandled(Out):
    """Whether a storage notification changed a video (a notice about nothing we know is dropped)."""

    handled: bool


# ------------------------------------------------------------------------------------ rules

_LENGTHS = f"Title is limited to {MAX_TITLE} characters and description to {MAX_DESCRIPTION:,}"


def _check_comment_policy(policy: str | None) -> None:
    if policy and policy not in COMMENT_POLICIES:
        raise errors.ValidationFailed(f"commentPolicy must be one of {', '.join(COMMENT_POLICIES)}")


_POLICY_DOC = "Who may comment: open (default), closed, or approval (comments wait for your approval)"


def _check_title(title: str, description: str = "") -> None:
    """A title is given (400); it and the description are within their lengths (422); the title is one line (422)."""
    if not title or not title.strip():
        raise errors.BadRequest("Title is required")
    if len(title) > MAX_TITLE or len(description) > MAX_DESCRIPTION:
        raise errors.ValidationFailed(_LENGTHS)
    problems = single_line_problems(title, "Title")
    if problems:
        raise errors.ValidationFailed(problems[0], errors=problems)


# ------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class VideoListQuery:
    """GET /videos: which page of which published videos, in what order."""

    page: int
    limit: int
    sort_by: str
    sort_type: str  # "asc" | "desc"
    user_id: uuid.UUID | None
    query: str | None
    tag: str | None = None  # normalised (shared.schemas.tags)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    @property
    def ascending(self) -> bool:
        return self.sort_type == "asc"

    @property
    def is_front_page(self) -> bool:
        """The public front page: the first page, unfiltered."""
        return self.page == 1 and self.user_id is None and self.query is None and self.tag is None

    @classmethod
    def from_request(cls, request: Request) -> VideoListQuery:
        """Each parameter read and checked in turn (a 400 names the first one wrong)."""
        page, limit = page_params(request)
        sort_by = query_param(request, "sortBy") or "createdAt"
        if sort_by not in SORTS:
            raise errors.BadRequest(f"sortBy must be one of {', '.join(SORTS)}")
        sort_type = (query_param(request, "sortType") or "desc").lower()
        if sort_type not in ("asc", "desc"):
            raise errors.BadRequest("sortType must be asc or desc")
        user_id = query_param(request, "userId")
        query = (query_param(request, "query") or "").strip() or None
        owner = parse_uuid(user_id, "Invalid user ID") if user_id else None
        tag = query_param(request, "tag")
        return cls(page=page, limit=limit, sort_by=sort_by, sort_type=sort_type, user_id=owner, query=query,
                   tag=normalize_tag(tag) if tag else None)


class VideoRegisterIn(PrivacyIn, TagsIn):
    """POST /videos as JSON: publish a video whose files arrived by direct upload (POST /uploads)."""

    title: Text = field("Guitar lessons, part 1", required=True, max_length=MAX_TITLE)
    description: Text = field("Chords for beginners", max_length=MAX_DESCRIPTION)
    videoUploadId: Text = field("0196a5a0-3c1e-7d2a-9f4b-2b8e1c3d4e5f", required=True,
                                description="The uploadId of a finished video upload (POST /uploads or tus)")
    thumbnailUploadId: Text = field("0196a5a0-4d2f-7e3b-8a5c-3c9f2d4e5f60", required=True,
                                    description="The uploadId of a finished thumbnail upload")
    commentPolicy: Text = field("open", choices=COMMENT_POLICIES, description=_POLICY_DOC)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _check_title(self.title, self.description)
        _check_comment_policy(self.commentPolicy)
        if not self.videoUploadId or not self.thumbnailUploadId:
            raise errors.BadRequest("videoUploadId and thumbnailUploadId are required (or send multipart/form-data)")
        parse_uuid(self.videoUploadId, "Invalid upload ID in videoUploadId")
        parse_uuid(self.thumbnailUploadId, "Invalid upload ID in thumbnailUploadId")
        return self

    @property
    def video_upload_id(self) -> uuid.UUID:
        return parse_uuid(self.videoUploadId, "Invalid upload ID")

    @property
    def thumbnail_upload_id(self) -> uuid.UUID:
        return parse_uuid(self.thumbnailUploadId, "Invalid upload ID")


class VideoPublishForm(FormIn, PrivacyIn, TagsFormIn):
    """POST /videos as multipart: the video file and its thumbnail."""

    title: Text = field("Guitar lessons, part 1", required=True, max_length=MAX_TITLE)
    description: Text = field("Chords for beginners", max_length=MAX_DESCRIPTION)
    videoFile: File = Field(description="MP4, WebM, MKV or MOV, up to 100 MB")
    thumbnail: File = Field(description="JPEG, PNG or WebP, up to 10 MB")
    commentPolicy: Text = field("open", choices=COMMENT_POLICIES, description=_POLICY_DOC)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _check_title(self.title, self.description)
        _check_comment_policy(self.commentPolicy)
        required_file(self.videoFile, "Video file is required")
        required_file(self.thumbnail, "Thumbnail is required")
        return self


class VideoUpdateIn(PrivacyIn, TagsIn):
    """PATCH semantics: omitted (or null) is unchanged, an explicit empty description clears it, a title may not be
    blank."""

    title: str | None = field("Guitar lessons, part 1 (new cut)", default=None, max_length=MAX_TITLE)
    description: str | None = field("Chords for beginners, with tabs", default=None, max_length=MAX_DESCRIPTION)
    commentPolicy: str | None = field("approval", default=None, choices=COMMENT_POLICIES, description=_POLICY_DOC)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _check_comment_policy(self.commentPolicy)
        changes = self.changes()
        if "title" in changes:
            _check_title(changes["title"])
        if len(changes.get("description", "")) > MAX_DESCRIPTION:
            raise errors.ValidationFailed(_LENGTHS)
        return self

    def changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = self.model_dump(include={"title", "description"}, exclude_unset=True,
                                                  exclude_none=True)
        if self.commentPolicy:
            changes["comment_policy"] = self.commentPolicy
        changes.update(self.privacy_changes())
        changes.update(self.tag_changes())
        return changes


# A form's `tags` is one comma-separated string (TagsFormIn, first in the MRO, so pydantic takes its field and rules),
# where JSON's is an array (TagsIn, through VideoUpdateIn): the one intended override mypy flags.
class VideoUpdateForm(FormIn, TagsFormIn, VideoUpdateIn):  # type: ignore[misc]
    """PATCH /videos/{video_id} as multipart: the same changes, and optionally a new thumbnail."""

    thumbnail: OptionalFile = Field(None, description="A new thumbnail: JPEG, PNG or WebP, up to 10 MB")


class UploadSignIn(In):
    """POST /uploads: what the client is about to upload."""

    invalid_message: ClassVar[str] = "Upload validation failed"
    kind: Text = field("video", required=True, choices=UPLOAD_KINDS)
    contentType: Text = field("video/mp4", required=True)
    size: Count = field(1_048_576, default=0, required=True, min_value=1, description="In bytes")

    @model_validator(mode="after")
    def _rules(self) -> Self:
        problems = []
        if self.kind not in UPLOAD_KINDS:
            problems.append(f"kind must be one of {', '.join(UPLOAD_KINDS)}")
        if not self.contentType:
            problems.append("contentType is required")
        if self.size <= 0:
            problems.append("size must be a positive number of bytes")
        if problems:
            raise errors.ValidationFailed(self.invalid_message, errors=problems)
        return self
