-- Moving an existing install's media to another store (issue #13, point 4: `python -m infra.manage move-media
-- --to s3`). One row per stored object copied from the source store (a media file, or a video's whole HLS output),
-- written before the copy starts and completed once the copy is read back and its checksum matches, so a move cut
-- short by a crash, a kill or a storage outage goes on where it stopped and never copies a verified object twice.
--   copying:  the copy was started; a run that finds this row again does not know what an interrupted upload left
--             (the target store chose the object's name), so it says so and copies it again.
--   copied:   the copy is stored (target_id) but not yet verified: the next run verifies it before using it.
--   verified: read back from the target store with the source's checksum; what the rows are rewritten to.
-- source_removed_at: the source file was removed (--delete-local) once no row referred to it any more.
CREATE TABLE media_moves (
  source_store      text NOT NULL,
  source_id         text NOT NULL,   -- the public id in the source store (a video's HLS output: its stream folder)
  target_store      text NOT NULL,
  kind              text NOT NULL CHECK (kind IN ('video', 'thumbnail', 'avatar', 'coverImage', 'hls')),
  status            text NOT NULL DEFAULT 'copying' CHECK (status IN ('copying', 'copied', 'verified')),
  target_id         text,            -- the public id in the target store (HLS output: its master playlist)
  target_url        text,            -- the URL the target store gave the copy (media files)
  target_poster_id  text,            -- HLS output: its poster frame
  sha256            text,            -- of the file (HLS output: of its files' relative paths and checksums)
  bytes             bigint,
  files             integer NOT NULL DEFAULT 1,
  started_at        timestamptz NOT NULL DEFAULT now(),
  verified_at       timestamptz,
  source_removed_at timestamptz,
  PRIMARY KEY (source_store, source_id, target_store)
);
