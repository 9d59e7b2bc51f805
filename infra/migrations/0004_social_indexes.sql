-- Every social list pages straight off an index, newest first, with id as the tie-breaker.
DROP INDEX comments_video_created_idx;
CREATE INDEX comments_video_created_idx ON comments (video_id, created_at DESC, id DESC);
DROP INDEX tweets_user_created_idx;
CREATE INDEX tweets_user_created_idx ON tweets (user_id, created_at DESC, id DESC);
DROP INDEX playlists_user_created_idx;
CREATE INDEX playlists_user_created_idx ON playlists (user_id, created_at DESC, id DESC);
CREATE INDEX subscriptions_channel_created_idx ON subscriptions (channel_id, created_at DESC, id DESC);
CREATE INDEX subscriptions_subscriber_created_idx ON subscriptions (subscriber_id, created_at DESC, id DESC);
DROP INDEX likes_user_videos_idx;
CREATE INDEX likes_user_videos_idx ON likes (user_id, created_at DESC, id DESC) WHERE video_id IS NOT NULL;
