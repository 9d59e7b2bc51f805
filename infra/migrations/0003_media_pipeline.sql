-- Videos: search, media metadata, views counted once per viewer per window, direct uploads, jobs.

-- Search over title and description, index-backed (pg_trgm is not in every build, full-text search is).
ALTER TABLE videos ADD COLUMN search tsvector
  GENERATED ALWAYS AS (to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(description, ''))) STORED;
CREATE INDEX videos_search_idx ON videos USING gin (search);
-- One index per sort key of the feed, with id as the tie-breaker the query orders by too.
DROP INDEX videos_published_created_idx;
CREATE INDEX videos_published_created_idx ON videos (created_at DESC, id DESC) WHERE is_published;
CREATE INDEX videos_published_views_idx ON videos (views DESC, id DESC) WHERE is_published;
CREATE INDEX videos_published_duration_idx ON videos (duration DESC, id DESC) WHERE is_published;
CREATE INDEX videos_published_title_idx ON videos (title DESC, id DESC) WHERE is_published;
CREATE INDEX videos_published_user_created_idx ON videos (user_id, created_at DESC, id DESC) WHERE is_published;

ALTER TABLE videos
  ADD COLUMN video_mime text,
  ADD COLUMN video_file_size bigint,
  ADD COLUMN width integer,
  ADD COLUMN height integer,
  ADD COLUMN storage text NOT NULL DEFAULT 'local';
-- The media route asks "is this file part of an unpublished video?" by public id.
CREATE INDEX videos_video_public_id_idx ON videos (video_file_public_id);
CREATE INDEX videos_thumbnail_public_id_idx ON videos (thumbnail_public_id);

-- When a view was last counted for this viewer: views count once per viewer per video per window.
ALTER TABLE watch_history ADD COLUMN counted_at timestamptz NOT NULL DEFAULT now();

-- Direct uploads: the API signs, the client sends the bytes to storage, then registers the video.
CREATE TABLE uploads (
  id            uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind          text NOT NULL CHECK (kind IN ('video', 'thumbnail', 'avatar', 'coverImage')),
  declared_type text NOT NULL,
  declared_size bigint NOT NULL CHECK (declared_size > 0),
  storage       text NOT NULL,
  public_id     text,            -- assigned at signing (Cloudinary) or when the bytes arrive (local)
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'received', 'consumed')),
  stored_size   bigint,
  stored_type   text,
  url           text,
  expires_at    timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  received_at   timestamptz,
  consumed_at   timestamptz
);
CREATE INDEX uploads_user_idx ON uploads (user_id, created_at DESC);
CREATE INDEX uploads_unconsumed_expiry_idx ON uploads (expires_at) WHERE status <> 'consumed';

-- Jobs are rows: probing, transcoding and storage clean-ups survive restarts; workers claim them with
-- FOR UPDATE SKIP LOCKED so two workers never run one job.
CREATE TABLE jobs (
  id           uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  kind         text NOT NULL,
  payload      jsonb NOT NULL DEFAULT '{}',
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
  attempts     integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 8,
  run_after    timestamptz NOT NULL DEFAULT now(),
  last_error   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_runnable_idx ON jobs (run_after) WHERE status IN ('pending', 'running');
