-- Videos and the social graph around them (contract-v2 §2), with the indexes every list and counter needs.

CREATE TYPE processing_status AS ENUM ('PROCESSING', 'COMPLETED', 'FAILED');

CREATE TABLE videos (
  id                  uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  video_file_url      text NOT NULL,
  video_file_public_id text NOT NULL,
  thumbnail_url       text NOT NULL,
  thumbnail_public_id text NOT NULL,
  title               text NOT NULL,
  description         text NOT NULL DEFAULT '',
  views               integer NOT NULL DEFAULT 0 CHECK (views >= 0),
  duration            double precision NOT NULL DEFAULT 0,
  is_published        boolean NOT NULL DEFAULT true,
  user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  processing_status   processing_status NOT NULL DEFAULT 'PROCESSING',
  processing_error    text,
  has_transcript      boolean NOT NULL DEFAULT false,
  allow_public_qna    boolean NOT NULL DEFAULT false
);
CREATE INDEX videos_user_created_idx ON videos (user_id, created_at DESC, id DESC);
CREATE INDEX videos_published_created_idx ON videos (created_at DESC) WHERE is_published;

CREATE TABLE comments (
  id         uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  content    text NOT NULL,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  video_id   uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_video_created_idx ON comments (video_id, created_at DESC);
CREATE INDEX comments_user_idx ON comments (user_id);

CREATE TABLE tweets (
  id         uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  content    text NOT NULL,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tweets_user_created_idx ON tweets (user_id, created_at DESC);

CREATE TABLE likes (
  id         uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  video_id   uuid REFERENCES videos (id) ON DELETE CASCADE,
  comment_id uuid REFERENCES comments (id) ON DELETE CASCADE,
  tweet_id   uuid REFERENCES tweets (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT likes_exactly_one_target CHECK (num_nonnulls(video_id, comment_id, tweet_id) = 1),
  CONSTRAINT likes_user_video_key UNIQUE (user_id, video_id),
  CONSTRAINT likes_user_comment_key UNIQUE (user_id, comment_id),
  CONSTRAINT likes_user_tweet_key UNIQUE (user_id, tweet_id)
);
-- The original has no index on the liked target: counting a video's likes scanned the whole table.
CREATE INDEX likes_video_idx ON likes (video_id) WHERE video_id IS NOT NULL;
CREATE INDEX likes_comment_idx ON likes (comment_id) WHERE comment_id IS NOT NULL;
CREATE INDEX likes_tweet_idx ON likes (tweet_id) WHERE tweet_id IS NOT NULL;
CREATE INDEX likes_user_videos_idx ON likes (user_id, created_at DESC) WHERE video_id IS NOT NULL;

CREATE TABLE subscriptions (
  id            uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  subscriber_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  channel_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT subscriptions_pair_key UNIQUE (subscriber_id, channel_id),
  CONSTRAINT subscriptions_not_self CHECK (subscriber_id <> channel_id)
);
CREATE INDEX subscriptions_channel_idx ON subscriptions (channel_id, subscriber_id);

CREATE TABLE playlists (
  id          uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX playlists_user_created_idx ON playlists (user_id, created_at DESC);

CREATE TABLE playlist_videos (
  id          uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  playlist_id uuid NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
  video_id    uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  added_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT playlist_videos_pair_key UNIQUE (playlist_id, video_id)
);
CREATE INDEX playlist_videos_playlist_added_idx ON playlist_videos (playlist_id, added_at);
CREATE INDEX playlist_videos_video_idx ON playlist_videos (video_id);

CREATE TABLE watch_history (
  id         uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  video_id   uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  watched_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT watch_history_pair_key UNIQUE (user_id, video_id)
);
CREATE INDEX watch_history_user_watched_idx ON watch_history (user_id, watched_at DESC);
CREATE INDEX watch_history_video_idx ON watch_history (video_id);
