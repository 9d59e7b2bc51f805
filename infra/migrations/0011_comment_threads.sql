-- Replies, comment policy and held comments (issue #15, point 2).
-- One level of threading, as YouTube has: a reply's parent_id is always a top-level comment of the same video (a
-- reply to a reply is attached to that reply's thread by the service).
--   status:             'published' (listed) or 'held' (a video with commentPolicy 'approval': listed only once its
--                       owner approves it).
--   replies_count:      a top-level comment's published replies, kept by the statements that insert, approve and
--                       delete replies (no count per thread per page).
--   held_replies_count: its held replies: a parent is removed outright only when it has no reply of either kind.
--   deleted_at:         a top-level comment deleted while it had replies stays as a "deleted comment" (its text
--                       erased) so the thread stays readable; it goes when its last reply goes.
ALTER TABLE comments
  ADD COLUMN parent_id uuid REFERENCES comments (id) ON DELETE CASCADE,
  ADD COLUMN status text NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'held')),
  ADD COLUMN replies_count integer NOT NULL DEFAULT 0 CHECK (replies_count >= 0),
  ADD COLUMN held_replies_count integer NOT NULL DEFAULT 0 CHECK (held_replies_count >= 0),
  ADD COLUMN deleted_at timestamptz;

-- A video's threads page and its total; a thread's replies page and its total; a video's held comments.
CREATE INDEX comments_threads_idx ON comments (video_id, created_at DESC, id DESC)
  WHERE parent_id IS NULL AND status = 'published';
-- comments_replies_idx is also the foreign key's index: deleting comments (a video's, by cascade) looks up each
-- one's replies through it, held ones included.
CREATE INDEX comments_replies_idx ON comments (parent_id, status, created_at, id) WHERE parent_id IS NOT NULL;
CREATE INDEX comments_held_idx ON comments (video_id, created_at, id) WHERE status = 'held';

ALTER TABLE videos
  ADD COLUMN comment_policy text NOT NULL DEFAULT 'open' CHECK (comment_policy IN ('open', 'closed', 'approval'));
