"""What playback adds to a video (issue #17, points 3 and 4): its caption tracks, the caller's watch position, and
what the caption and progress routes take (a caption file with its label; a position), with their rules."""

from __future__ import annotations

import math
from typing import Any, ClassVar, Self

from pydantic import Field, model_validator

from shared import errors
from shared.schemas import File, FormIn, In, Out, Text, Timestamp, field, required_file
from shared.text import single_line_problems

MAX_LABEL = 100
# Longer than any video we take (100 MB): a position past it is a client's bug, refused before any SQL runs.
MAX_POSITION_SECONDS = 7 * 24 * 3600
CAPTION_TYPES = {"text/vtt": "vtt", "application/x-subrip": "srt"}
# Also said by SubRip tools and browsers for .srt files.
CAPTION_ALIASES = {"text/srt": "srt", "application/srt": "srt", "text/x-srt": "srt"}


class CaptionTrack(Out):
    """A caption track of a video: its language (a BCP-47 tag), the name players list it under, and where its
    WebVTT file is (for a <track> element; signed and expiring while the video is not public)."""

    language: str = Field(examples=["en-US"])
    label: str = Field(examples=["English"])
    url: str = Field(examples=["https://api.example.com/api/v2/media/captions/0196a5a0-3c1e-7d2a-9f4b-2b8e1c3d4e5f/"
                               "en-US/captions.vtt"])


class CaptionSaved(CaptionTrack):
    """A caption track as stored: the list entry, its size and when it was last replaced."""

    size: int = Field(description="Bytes of the stored WebVTT text")
    cues: int = Field(description="How many cues the file holds")
    updated_at: Timestamp


class WatchPosition(Out):
    """Where the caller stopped in a video, and whether they watched it to (near) the end."""

    current_time: float = Field(description="Seconds from the start", examples=[754.2])
    finished: bool


class ProgressSaved(WatchPosition):
    """The position now stored; `saved` is false when the report came within the write interval of the last one
    written (the position then is that earlier one)."""

    saved: bool


def check_label(label: str) -> str:
    """A caption track's label: one line, 1 to MAX_LABEL characters, blank meaning "not given"."""
    label = label.strip()
    if len(label) > MAX_LABEL:
        raise errors.ValidationFailed(f"label is limited to {MAX_LABEL} characters")
    problems = single_line_problems(label, "label")
    if problems:
        raise errors.ValidationFailed(problems[0], errors=problems)
    return label


class CaptionForm(FormIn):
    """PUT /videos/{videoId}/captions/{language} as multipart: the caption file and, optionally, its label. (The
    file may also be the whole body, as text/vtt or application/x-subrip, with `?label=`.)"""

    captionFile: File = Field(description="A WebVTT (.vtt) or SubRip (.srt) file, UTF-8, up to MAX_CAPTION_BYTES "
                                          "(512 KB by default)")
    label: Text = field("English", max_length=MAX_LABEL,
                        description="The name players list the track under (default: the language tag)")

    @model_validator(mode="after")
    def _rules(self) -> Self:
        required_file(self.captionFile, "captionFile is required: the caption file (WebVTT or SubRip)")
        check_label(self.label)
        return self


class ProgressIn(In):
    """POST /videos/{videoId}/progress: where the viewer is now."""

    invalid_message: ClassVar[str] = "currentTime must be a number of seconds"
    currentTime: float | None = field(7.5, default=None, required=True, min_value=0,
                                      description="Seconds from the start of the video (at most its duration)")

    @model_validator(mode="after")
    def _rules(self) -> Self:
        value = self.currentTime
        if value is None:
            raise errors.BadRequest("currentTime is required")
        if not math.isfinite(value) or value < 0 or value > MAX_POSITION_SECONDS:
            raise errors.BadRequest("currentTime must be a number of seconds, 0 or more, within the video")
        return self

    @property
    def seconds(self) -> float:
        assert self.currentTime is not None
        return float(self.currentTime)


def position_of(row: dict[str, Any]) -> dict[str, Any] | None:
    """The wire's watchPosition from a row carrying `position_seconds` and `position_finished` (null: never
    reported)."""
    if row.get("position_seconds") is None:
        return None
    return {"currentTime": round(float(row["position_seconds"]), 3), "finished": bool(row["position_finished"])}
