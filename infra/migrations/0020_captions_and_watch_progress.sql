-- Captions (issue #17, point 3) and resume positions (issue #17, point 4).
--
-- video_captions: one WebVTT track per video and language (a normalised BCP-47 tag), kept in the database rather
--   than in the media store: caption files are small text (capped by MAX_CAPTION_BYTES, under 1 MB), so a row keeps
--   a replace or a delete in the same transaction as the video's list of tracks, goes with the video by cascade (no
--   clean-up job, no orphan file in any backend), reads the same on every node and every STORAGE, and carries the
--   ETag (a hash of the text) that GET answers and compares without reading the body.
-- videos.caption_tracks: the video's tracks as `[{language, label}]`, ordered by language, written by the same
--   transaction as the captions (shared/sql/captions.py, under the video's row lock): every video object carries
--   its captions with no extra statement on any list or the watch page.
-- watch_progress: where each viewer stopped in each video; written at most once per ~10 s per pair by one UPSERT
--   (shared/sql/watch_progress.py). watch_progress_continue_idx serves "continue watching" (a viewer's unfinished
--   videos, most recent first) by an index scan, the primary key the watch page's and the history's lookups.
CREATE TABLE video_captions (
  video_id    uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  language    text NOT NULL CHECK (language ~ '^[A-Za-z0-9]{1,8}(-[A-Za-z0-9]{1,8})*$'),
  label       text NOT NULL CHECK (char_length(label) BETWEEN 1 AND 100),
  vtt         text NOT NULL,
  etag        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (video_id, language)
);

ALTER TABLE videos ADD COLUMN caption_tracks jsonb NOT NULL DEFAULT '[]';

CREATE TABLE watch_progress (
  user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  video_id          uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  position_seconds  double precision NOT NULL CHECK (position_seconds >= 0),
  finished          boolean NOT NULL DEFAULT false,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, video_id)
);
CREATE INDEX watch_progress_continue_idx ON watch_progress (user_id, updated_at DESC, video_id DESC) WHERE NOT finished;
-- A video's deletion cascades here: without it, every video delete would scan the table.
CREATE INDEX watch_progress_video_idx ON watch_progress (video_id);
