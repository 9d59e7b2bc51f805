-- Moderation (issue #15, point 6): roles, bans, abuse reports, takedowns, the moderation log, and user blocks.
-- The rules and what each decision does: shared/services/moderation.py.

-- role:      granted from the command line only (python -m infra.manage set-role), never through the API.
-- banned_at: a banned account cannot sign in, and no access token of it is accepted (shared/sql/users.py
--            get_authenticated reads it on every request whose session is not cached; the ban revokes every session
--            and retires the cached sign-ins in the same step).
ALTER TABLE users
  ADD COLUMN role text NOT NULL DEFAULT 'user' CONSTRAINT users_role_check CHECK (role IN ('admin', 'moderator', 'user')),
  ADD COLUMN banned_at timestamptz;

-- A taken-down video keeps its privacy (the owner's choice) but is listed nowhere and opened by its owner and the
-- moderators alone. is_published (public, listed: the predicate of every listing index and of the published
-- counter) is false while it is taken down, so every list that reads `WHERE is_published` drops it with no change;
-- the trigger of 0012 keeps that true whichever column a write names (a v2 toggle, a privacy PATCH, the schedule
-- sweep), so no write can bring a taken-down video back into the lists.
ALTER TABLE videos ADD COLUMN taken_down_at timestamptz;

ALTER TABLE videos
  DROP CONSTRAINT videos_privacy_published_check,
  ADD CONSTRAINT videos_privacy_published_check CHECK (is_published = (privacy = 'public' AND taken_down_at IS NULL));

CREATE OR REPLACE FUNCTION videos_sync_privacy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    -- privacy's default is 'public': an insert that names only is_published (false) means private
    IF NEW.privacy = 'public' AND NOT NEW.is_published AND NEW.taken_down_at IS NULL THEN
      NEW.privacy := 'private';
    END IF;
  ELSIF NEW.privacy IS DISTINCT FROM OLD.privacy OR NEW.taken_down_at IS DISTINCT FROM OLD.taken_down_at THEN
    NULL;  -- is_published follows privacy and the takedown, below
  ELSIF NEW.is_published IS DISTINCT FROM OLD.is_published THEN
    NEW.privacy := CASE WHEN NEW.is_published THEN 'public' ELSE 'private' END;
    NEW.publish_at := NULL;
  END IF;
  NEW.is_published := NEW.privacy = 'public' AND NEW.taken_down_at IS NULL;
  RETURN NEW;
END $$;

DROP TRIGGER videos_sync_privacy ON videos;
CREATE TRIGGER videos_sync_privacy BEFORE INSERT OR UPDATE OF privacy, is_published, taken_down_at ON videos
  FOR EACH ROW EXECUTE FUNCTION videos_sync_privacy();

-- Abuse reports. target_id names a row of the table target_type says (no foreign key: four tables); target_owner_id
-- is who posted it (the user reported, for a user), kept so a ban still finds them once the content is gone.
CREATE TABLE reports (
  id              uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  reporter_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  target_type     text NOT NULL CHECK (target_type IN ('video', 'comment', 'tweet', 'user')),
  target_id       uuid NOT NULL,
  target_owner_id uuid REFERENCES users (id) ON DELETE SET NULL,
  reason          text NOT NULL CHECK (reason IN ('spam', 'harassment', 'hate', 'violence', 'sexual',
                                                  'misinformation', 'copyright', 'self_harm', 'other')),
  text            text NOT NULL DEFAULT '',
  state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'dismissed', 'actioned')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  decided_at      timestamptz,
  decided_by      uuid REFERENCES users (id) ON DELETE SET NULL,
  action          text CHECK (action IN ('dismiss', 'takedown', 'ban')),
  note            text,
  CONSTRAINT reports_decided_check CHECK ((state = 'open') = (decided_at IS NULL AND action IS NULL))
);
-- One open report per reporter and target (a second one is a 409); once decided, the same reporter may report again.
CREATE UNIQUE INDEX reports_open_once_idx ON reports (reporter_id, target_type, target_id) WHERE state = 'open';
-- The queue, per state, oldest first (open) or newest first (decided): one index serves both directions.
CREATE INDEX reports_state_created_idx ON reports (state, created_at, id);
-- The other open reports of a target, closed with it when it is taken down.
CREATE INDEX reports_target_idx ON reports (target_type, target_id) WHERE state = 'open';

-- Every moderation action: who (null: the command line), what, on what, when, and the moderator's note. A taken-down
-- comment or post is deleted; `details` keeps what it said (and who said it) for appeals.
CREATE TABLE moderation_log (
  id          uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  actor_id    uuid REFERENCES users (id) ON DELETE SET NULL,
  action      text NOT NULL CHECK (action IN ('dismiss', 'takedown', 'ban', 'set_role')),
  target_type text NOT NULL CHECK (target_type IN ('video', 'comment', 'tweet', 'user')),
  target_id   uuid NOT NULL,
  report_id   uuid REFERENCES reports (id) ON DELETE SET NULL,
  note        text NOT NULL DEFAULT '',
  details     jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moderation_log_created_idx ON moderation_log (created_at DESC, id DESC);

-- A user's blocks: the blocked user's comments and posts are hidden from the blocker.
CREATE TABLE user_blocks (
  blocker_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  blocked_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (blocker_id, blocked_id),
  CONSTRAINT user_blocks_not_self CHECK (blocker_id <> blocked_id)
);
-- The blocker's list, newest first.
CREATE INDEX user_blocks_blocker_created_idx ON user_blocks (blocker_id, created_at DESC);
-- Deleting a user looks up the blocks of them through this (the foreign key's index).
CREATE INDEX user_blocks_blocked_idx ON user_blocks (blocked_id);
