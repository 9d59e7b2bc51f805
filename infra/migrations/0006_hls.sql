-- Adaptive streaming: where a video's HLS master playlist and poster frame live once transcoded.
ALTER TABLE videos
  ADD COLUMN hls_master_public_id text,
  ADD COLUMN poster_public_id text;
