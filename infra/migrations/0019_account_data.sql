-- Account deletion and data export (issue #16, points 6 and 7).

-- A deleted account's top-level comment that others replied to stays as a "deleted comment" (as one its author
-- deleted does, migration 0011): text erased, deleted_at set, and no author any more (user_id NULL), so the thread
-- stays readable after the users row is gone. Only such a row may lack an author. The foreign key keeps ON DELETE
-- CASCADE: a comment that still names the deleted user (none should: the deletion handles each one) goes with them
-- rather than lingering authorless.
ALTER TABLE comments
  ALTER COLUMN user_id DROP NOT NULL,
  ADD CONSTRAINT comments_author_unless_deleted CHECK (user_id IS NOT NULL OR deleted_at IS NOT NULL);

-- A user's data exports: a zip built by a job (shared/services/data_export.py), stored through the storage adapter,
-- downloadable through an expiring signed link until expires_at, then removed by the housekeeping sweep.
--   state:      'pending' (queued or being built), 'ready' (stored: public_id), 'failed' (error says why).
--   storage:    the backend that holds the zip, media_node the node whose disk has it (local storage), as for videos.
--   expires_at: when the link stops working and the sweep removes the zip and the row (a failed export's row goes
--               too); NULL while pending.
CREATE TABLE data_exports (
  id          uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'ready', 'failed')),
  storage     text,
  media_node  text,
  public_id   text,
  size_bytes  bigint,
  error       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  ready_at    timestamptz,
  expires_at  timestamptz,
  CONSTRAINT data_exports_ready_stored CHECK (state <> 'ready' OR (public_id IS NOT NULL AND expires_at IS NOT NULL))
);
-- One export at a time per user: a second request while one is pending finds it instead (ON CONFLICT), even when
-- two requests race in separate processes.
CREATE UNIQUE INDEX data_exports_one_pending_idx ON data_exports (user_id) WHERE state = 'pending';
-- The user's exports (and the cascade of an account deletion); the sweep's expired ones.
CREATE INDEX data_exports_user_idx ON data_exports (user_id, created_at DESC);
CREATE INDEX data_exports_expiry_idx ON data_exports (expires_at) WHERE expires_at IS NOT NULL;
