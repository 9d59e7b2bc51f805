"""Seek previews (storyboards): sprite sheets of small frames taken every few seconds, and the WebVTT thumbnails
track that points a player's seek bar at them (`sprite_000.jpg#xywh=x,y,w,h`, the convention of video.js, Shaka,
JW Player and hls.js front ends).

The frames come from the ffmpeg run that already decodes the source for a rendition (shared.media.progressive adds
`filter_chain` as one more branch of that run's filter graph): no second decode. `fps` keeps one frame per interval
before anything is scaled, so the branch costs a few scaled frames, not a second pipeline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TILE_WIDTH = 160
TILE_HEIGHT = 90
COLUMNS = 10
MAX_TILES_PER_SHEET = 100  # 10 × 10 tiles: a 1600×900 JPEG of ~50–150 KB
MIN_INTERVAL = 2  # seconds between frames of a short video
TARGET_TILES = 400  # a longer video spaces its frames out so the track stays around this many (≤ 4 sheets)
FOLDER = "storyboard"
VTT_NAME = "thumbs.vtt"
SPRITE_PATTERN = "sprite_%03d.jpg"  # ffmpeg's image2 numbering, from 0 (-start_number 0)


@dataclass(frozen=True)
class Layout:
    """Where each frame of a video's storyboard goes: one every `interval` seconds, `tiles` in all, in sheets of
    `columns` × `rows` (the last sheet may be partly empty)."""

    duration: float
    interval: int
    tiles: int
    columns: int
    rows: int

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows

    @property
    def sheets(self) -> int:
        return math.ceil(self.tiles / self.per_sheet)

    def sprite_names(self) -> list[str]:
        return [SPRITE_PATTERN % i for i in range(self.sheets)]

    def tile(self, index: int) -> tuple[str, int, int]:
        """The sheet and the top-left corner of frame `index`."""
        sheet, slot = divmod(index, self.per_sheet)
        return SPRITE_PATTERN % sheet, (slot % self.columns) * TILE_WIDTH, (slot // self.columns) * TILE_HEIGHT


def layout_for(duration: float) -> Layout:
    """A frame every MIN_INTERVAL seconds, spaced out (whole seconds) for long videos so they keep ~TARGET_TILES
    frames; one frame at least. A video that fits one sheet gets only the rows it fills."""
    seconds = max(duration, 0.001)
    interval = max(MIN_INTERVAL, math.ceil(seconds / TARGET_TILES))
    tiles = max(1, math.ceil(seconds / interval))
    columns = min(COLUMNS, tiles)
    rows = MAX_TILES_PER_SHEET // COLUMNS if tiles > MAX_TILES_PER_SHEET else math.ceil(tiles / columns)
    return Layout(duration=seconds, interval=interval, tiles=tiles, columns=columns, rows=rows)


def filter_chain(layout: Layout) -> str:
    """The filter branch from decoded frames to sprite sheets: the frame nearest each multiple of the interval
    (the `fps` filter), letterboxed into a tile (any aspect ratio keeps its shape), tiled into sheets (the last one
    flushed when the video ends)."""
    return (f"fps=1/{layout.interval}:round=near,"
            f"scale={TILE_WIDTH}:{TILE_HEIGHT}:force_original_aspect_ratio=decrease,"
            f"pad={TILE_WIDTH}:{TILE_HEIGHT}:(ow-iw)/2:(oh-ih)/2,setsar=1,"
            f"tile={layout.columns}x{layout.rows}")


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def vtt(layout: Layout) -> str:
    """The WebVTT thumbnails track: cue i covers [i × interval, (i + 1) × interval), the last one ends with the video,
    and points at its tile with a media fragment relative to the track's own URL."""
    lines = ["WEBVTT", ""]
    for index in range(layout.tiles):
        start = index * layout.interval
        end = min(layout.duration, (index + 1) * layout.interval)
        sheet, x, y = layout.tile(index)
        lines += [f"{_timestamp(start)} --> {_timestamp(end)}", f"{sheet}#xywh={x},{y},{TILE_WIDTH},{TILE_HEIGHT}", ""]
    return "\n".join(lines)
