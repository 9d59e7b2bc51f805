"""What a video's progressive HLS stream adds to a video object (issue #17, points 1 and 2): its renditions as they
are made, and its seek previews (storyboard)."""

from __future__ import annotations

from pydantic import Field

from shared.schemas import Out


class RenditionState(Out):
    """One rung of the video's HLS ladder and how far it is: pending (not started), processing (being made), ready
    (published: listed in the master playlist), failed (the transcode gave up before making it)."""

    height: int = Field(description="Frame height in pixels", examples=[720])
    state: str = Field(description="pending | processing | ready | failed", examples=["ready"])


class Storyboard(Out):
    """Seek previews: a WebVTT thumbnails track whose cues point at tiles of the sprite sheets
    (`sprite_000.jpg#xywh=x,y,160,90`, relative to the track's URL), a tile every few seconds."""

    vtt_url: str = Field(description="The WebVTT thumbnails track",
                         examples=["https://api.example.com/api/v2/media/hls/0196a5a0-3c1e-7d2a-9f4b-2b8e1c3d4e5f/"
                                   "storyboard/thumbs.vtt"])
    sprite_urls: list[str] = Field(description="The sprite sheets the track points at (up to 10 × 10 tiles each)",
                                   examples=[["https://api.example.com/api/v2/media/hls/"
                                              "0196a5a0-3c1e-7d2a-9f4b-2b8e1c3d4e5f/storyboard/sprite_000.jpg"]])
