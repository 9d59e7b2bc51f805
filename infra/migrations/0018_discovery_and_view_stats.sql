-- Discovery (issue #15, point 7): tags and the trending sort; views over time (issue #17, point 5).
--
-- tags:           a video's normalised tags (shared/services/tags.py: ≤ 10, 1–30 characters, casefolded, unique),
--                 filtered with `tags @> ARRAY[tag]` through videos_tags_idx (GIN, listed videos only: the feed's
--                 own predicate, so the filter never reads what it could not list).
-- trending_views: the views of the last 7 days (168 whole UTC hours plus the current one), what sortBy=trending
--                 sorts on through videos_published_trending_idx. A counted view adds 1 in the statement that counts
--                 it (shared/sql/videos.py record_view); the housekeeping sweep (shared/services/trending.py) takes
--                 off each hour's bucket once that hour leaves the window, so no request ever sums buckets.
ALTER TABLE videos
  ADD COLUMN tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 10),
  ADD COLUMN trending_views integer NOT NULL DEFAULT 0 CHECK (trending_views >= 0);

CREATE INDEX videos_tags_idx ON videos USING gin (tags) WHERE is_published;
CREATE INDEX videos_published_trending_idx ON videos (trending_views DESC, id DESC) WHERE is_published;

-- View buckets, UTC (hour: the start of a UTC hour; day: a UTC date), upserted by the statement that counts a view.
-- Per video and per channel, so a channel's series reads one row per point, not one per video and point.
-- The hourly tables keep the last 15 days (the sweep prunes them through their hour index); the daily ones are kept.
-- user_id in the video tables: the owner (a video never changes hands), whose channel rows lose a deleted video's
-- views (the triggers below), so a channel's series keeps agreeing with the totals of the videos it has.
CREATE TABLE video_views_hourly (
  video_id uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  hour     timestamptz NOT NULL,
  user_id  uuid NOT NULL,
  views    integer NOT NULL CHECK (views >= 0),
  PRIMARY KEY (video_id, hour)
);
CREATE INDEX video_views_hourly_hour_idx ON video_views_hourly (hour);

CREATE TABLE video_views_daily (
  video_id uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  day      date NOT NULL,
  user_id  uuid NOT NULL,
  views    integer NOT NULL CHECK (views >= 0),
  PRIMARY KEY (video_id, day)
);

CREATE TABLE channel_views_hourly (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  hour    timestamptz NOT NULL,
  views   integer NOT NULL CHECK (views >= 0),
  PRIMARY KEY (user_id, hour)
);
CREATE INDEX channel_views_hourly_hour_idx ON channel_views_hourly (hour);

CREATE TABLE channel_views_daily (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  day     date NOT NULL,
  views   bigint NOT NULL CHECK (views >= 0),
  PRIMARY KEY (user_id, day)
);

-- A deleted video's buckets (deleted by the cascade) come off its channel's. Only when the video itself is gone:
-- the sweep's pruning of old hourly rows deletes them too, and must leave the channel's (pruned alongside) alone.
CREATE FUNCTION channel_views_forget_daily() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE channel_views_daily c SET views = greatest(c.views - g.views, 0)
    FROM (SELECT user_id, day, sum(views) AS views FROM gone
          WHERE NOT EXISTS (SELECT 1 FROM videos v WHERE v.id = gone.video_id) GROUP BY user_id, day) g
   WHERE c.user_id = g.user_id AND c.day = g.day;
  RETURN NULL;
END $$;

CREATE FUNCTION channel_views_forget_hourly() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE channel_views_hourly c SET views = greatest(c.views - g.views, 0)
    FROM (SELECT user_id, hour, sum(views) AS views FROM gone
          WHERE NOT EXISTS (SELECT 1 FROM videos v WHERE v.id = gone.video_id) GROUP BY user_id, hour) g
   WHERE c.user_id = g.user_id AND c.hour = g.hour;
  RETURN NULL;
END $$;

CREATE TRIGGER video_views_daily_forget AFTER DELETE ON video_views_daily REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION channel_views_forget_daily();
CREATE TRIGGER video_views_hourly_forget AFTER DELETE ON video_views_hourly REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION channel_views_forget_hourly();

-- Views counted before the buckets existed: each video's whole count goes into one bucket at its creation (its UTC
-- day; its hour too when that is recent enough to be kept), so every series adds up to the totals. Trending takes
-- them when the video is from the last 7 days. Only videos with no daily bucket yet (so a second call adds nothing
-- twice); a function, so tests can check it on videos made without buckets.
CREATE FUNCTION view_stats_backfill() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  filled bigint;
  window_start timestamptz := date_trunc('hour', now(), 'UTC') - interval '7 days';
BEGIN
  CREATE TEMPORARY TABLE backfilled ON COMMIT DROP AS
    SELECT v.id, v.user_id, v.views, v.created_at FROM videos v
     WHERE v.views > 0 AND NOT EXISTS (SELECT 1 FROM video_views_daily d WHERE d.video_id = v.id);
  GET DIAGNOSTICS filled = ROW_COUNT;
  INSERT INTO video_views_daily (video_id, day, user_id, views)
    SELECT id, (created_at AT TIME ZONE 'UTC')::date, user_id, views FROM backfilled;
  INSERT INTO channel_views_daily AS c (user_id, day, views)
    SELECT user_id, (created_at AT TIME ZONE 'UTC')::date, sum(views) FROM backfilled GROUP BY 1, 2
    ON CONFLICT (user_id, day) DO UPDATE SET views = c.views + excluded.views;
  INSERT INTO video_views_hourly AS b (video_id, hour, user_id, views)
    SELECT id, date_trunc('hour', created_at, 'UTC'), user_id, views FROM backfilled
     WHERE created_at >= date_trunc('hour', now(), 'UTC') - interval '15 days'
    ON CONFLICT (video_id, hour) DO UPDATE SET views = b.views + excluded.views;
  INSERT INTO channel_views_hourly AS c (user_id, hour, views)
    SELECT user_id, date_trunc('hour', created_at, 'UTC'), sum(views) FROM backfilled
     WHERE created_at >= date_trunc('hour', now(), 'UTC') - interval '15 days' GROUP BY 1, 2
    ON CONFLICT (user_id, hour) DO UPDATE SET views = c.views + excluded.views;
  -- inside the trending window as it stands (its edge: the counters row below, or where it will start)
  UPDATE videos v SET trending_views = v.trending_views + b.views FROM backfilled b
   WHERE v.id = b.id AND date_trunc('hour', b.created_at, 'UTC') >= coalesce(
     (SELECT to_timestamp(value) FROM counters WHERE name = 'trending_window_start'), window_start);
  DROP TABLE backfilled;
  RETURN filled;
END $$;

SELECT view_stats_backfill();

-- The trending window's lower edge (epoch seconds of a UTC hour): hourly buckets before it are no longer counted in
-- trending_views. In `counters`, whose rows are part of the schema (tests never wipe them).
INSERT INTO counters (name, value)
  VALUES ('trending_window_start', extract(epoch FROM date_trunc('hour', now(), 'UTC') - interval '7 days')::bigint)
  ON CONFLICT (name) DO NOTHING;
