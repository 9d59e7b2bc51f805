-- Playable in seconds and seek previews (issue #17, points 1 and 2).
--
-- hls_renditions: the video's renditions as its progressive transcode makes them, lowest first:
--   [{"name": "240p", "height": 240, "state": "pending" | "processing" | "ready", "variant": "<EXT-X-STREAM-INF
--   attributes>"}]. A rendition is `ready` once its files are published; the master playlist lists exactly the ready
--   ones (rewritten from this column), so a retried transcode knows what it need not make again.
-- storyboard: the seek previews published with the stream, paths relative to the master playlist's folder (so a move
--   to another store, which changes that folder, keeps them right): {"vtt": "storyboard/thumbs.vtt",
--   "sprites": ["storyboard/sprite_000.jpg", ...], "interval": 2, "tiles": 30}; NULL until made.
-- stream_attempt: the transcode (its job's token) that owns the stream being made: a retry of the same job resumes
--   it, any other transcode starts afresh.
ALTER TABLE videos
  ADD COLUMN hls_renditions jsonb NOT NULL DEFAULT '[]',
  ADD COLUMN storyboard jsonb,
  ADD COLUMN stream_attempt text;
