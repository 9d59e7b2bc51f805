-- The feed's total (totalDocs) without counting the table on every request: a counter kept by triggers.
-- Statement-level triggers with transition tables: one counter update per statement, even for bulk writes.
CREATE TABLE counters (
  name  text PRIMARY KEY,
  value bigint NOT NULL CHECK (value >= 0)
);
INSERT INTO counters (name, value) VALUES ('published_videos', (SELECT count(*) FROM videos WHERE is_published));

CREATE FUNCTION adjust_published_videos(delta bigint) RETURNS void LANGUAGE sql AS $$
  UPDATE counters SET value = value + delta WHERE name = 'published_videos' AND delta <> 0
$$;

CREATE FUNCTION count_inserted_videos() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM adjust_published_videos((SELECT count(*) FROM new_rows WHERE is_published));
  RETURN NULL;
END $$;

CREATE FUNCTION count_deleted_videos() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM adjust_published_videos(-(SELECT count(*) FROM old_rows WHERE is_published));
  RETURN NULL;
END $$;

CREATE FUNCTION count_updated_videos() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM adjust_published_videos((SELECT count(*) FROM new_rows WHERE is_published)
                                  - (SELECT count(*) FROM old_rows WHERE is_published));
  RETURN NULL;
END $$;

CREATE FUNCTION reset_published_videos() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE counters SET value = 0 WHERE name = 'published_videos';
  RETURN NULL;
END $$;

CREATE TRIGGER videos_counted_insert AFTER INSERT ON videos REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION count_inserted_videos();
CREATE TRIGGER videos_counted_delete AFTER DELETE ON videos REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION count_deleted_videos();
CREATE TRIGGER videos_counted_update AFTER UPDATE ON videos REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION count_updated_videos();
CREATE TRIGGER videos_counted_truncate AFTER TRUNCATE ON videos
  FOR EACH STATEMENT EXECUTE FUNCTION reset_published_videos();
