-- Notifications (issue #15, point 4): an inbox per user, per-type settings.
-- One row per delivered notification. `id` is a UUIDv7, so it orders the inbox by time and is the cursor. The primary
-- key (recipient_id, id) is the inbox itself: a page is one range of it, newest first, for any recipient (with a
-- separate key on id alone, the planner may walk that key backwards filtering on the recipient, which is fast only
-- while the recipient's notifications are recent), and a publish to 100k subscribers maintains one index fewer.
--   type:     what happened (the list in shared/services/notifications.py TYPES).
--   actor_id, video_id, comment_id: who did it and what it is about. Plain columns, not foreign keys: a publish to
--             100k subscribers inserts 100k rows, and a foreign key would check its parent once per row and need an
--             index per column for deletes to find their rows. The inbox joins them at read time and shows what is
--             gone (or no longer visible to the recipient) as null.
--   report_id, export_id: the moderation report decided / the account export ready (their tables come later).
--   read_at:  null while unread.
CREATE TABLE notifications (
  id          uuid NOT NULL DEFAULT uuid_generate_v7(),
  recipient_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  type        text NOT NULL CHECK (type IN ('video.published', 'comment.reply', 'comment.created', 'video.processed',
                                            'video.failed', 'report.decided', 'export.ready')),
  actor_id    uuid,
  video_id    uuid,
  comment_id  uuid,
  report_id   uuid,
  export_id   uuid,
  created_at  timestamptz NOT NULL DEFAULT now(),
  read_at     timestamptz,
  CONSTRAINT notifications_pkey PRIMARY KEY (recipient_id, id),
  CONSTRAINT notifications_not_self CHECK (actor_id IS NULL OR actor_id <> recipient_id)
);
-- The unread page and the unread count: only unread rows are indexed, so reading shrinks it.
CREATE INDEX notifications_unread_idx ON notifications (recipient_id, id DESC) WHERE read_at IS NULL;
-- A video announces itself to each subscriber once (a public -> private -> public flip does not notify twice), and a
-- fan-out chunk retried after a crash inserts nothing twice (ON CONFLICT DO NOTHING).
CREATE UNIQUE INDEX notifications_published_once_idx ON notifications (video_id, recipient_id)
  WHERE type = 'video.published';
-- A comment is news to each recipient once (approving a held comment twice, say, tells nobody twice).
CREATE UNIQUE INDEX notifications_comment_once_idx ON notifications (comment_id, recipient_id, type)
  WHERE comment_id IS NOT NULL;
-- Retention: ids are time-ordered and rows arrive in id order, so a BRIN index (a few pages for millions of rows,
-- nearly free to maintain) finds "older than N days" as a range of ids.
CREATE INDEX notifications_id_brin_idx ON notifications USING brin (id);

-- Per-type settings: only the types a user turned off are stored (everything is on by default), so the fan-out's
-- "who muted this type" anti-join reads nothing for the users who never changed a setting.
CREATE TABLE notification_mutes (
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  type       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, type)
);
