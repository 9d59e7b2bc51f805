-- Privacy levels and scheduled publishing (issue #15, point 1).
--   privacy:    'public' (listed everywhere), 'unlisted' (opened by id or link by anyone signed in, listed nowhere
--               but its owner's own lists), 'private' (its owner only). The rules: shared/services/visibility.py.
--   is_published keeps its v2 meaning, public <-> true, and stays a real column so every index, counter and query
--               that lists published videos (WHERE is_published) lists public ones, unchanged. A trigger keeps the
--               two in step: a write of privacy sets is_published; a write of is_published alone (a v2 writer)
--               sets privacy to public or private and cancels any schedule.
--   publish_at: a private video scheduled to turn public at that time (the sweep: shared/services/scheduling.py),
--               found through videos_publish_at_idx; null once it has (or when nothing is scheduled).
ALTER TABLE videos
  ADD COLUMN privacy text NOT NULL DEFAULT 'public' CHECK (privacy IN ('public', 'unlisted', 'private')),
  ADD COLUMN publish_at timestamptz;

UPDATE videos SET privacy = 'private' WHERE NOT is_published;

ALTER TABLE videos
  ADD CONSTRAINT videos_privacy_published_check CHECK (is_published = (privacy = 'public')),
  ADD CONSTRAINT videos_publish_at_private_check CHECK (publish_at IS NULL OR privacy = 'private');

CREATE FUNCTION videos_sync_privacy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    -- privacy's default is 'public': an insert that names only is_published (false) means private
    IF NEW.privacy = 'public' AND NOT NEW.is_published THEN
      NEW.privacy := 'private';
    END IF;
    NEW.is_published := NEW.privacy = 'public';
  ELSIF NEW.privacy IS DISTINCT FROM OLD.privacy THEN
    NEW.is_published := NEW.privacy = 'public';
  ELSIF NEW.is_published IS DISTINCT FROM OLD.is_published THEN
    NEW.privacy := CASE WHEN NEW.is_published THEN 'public' ELSE 'private' END;
    NEW.publish_at := NULL;
  END IF;
  RETURN NEW;
END $$;

-- Only writes naming these columns pay for it (a counted view updates `views` alone).
CREATE TRIGGER videos_sync_privacy BEFORE INSERT OR UPDATE OF privacy, is_published ON videos
  FOR EACH ROW EXECUTE FUNCTION videos_sync_privacy();

CREATE INDEX videos_publish_at_idx ON videos (publish_at) WHERE publish_at IS NOT NULL;
