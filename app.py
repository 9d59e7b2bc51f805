"""VizTube on Chalice: wiring only (blueprints under /api/v2, one middleware, the job kinds, dev migrations)."""

from chalice import Chalice

from functions import (
    account_data,
    account_email,
    blocks,
    captions,
    comments,
    dashboard,
    docs,
    fallback,
    feed,
    healthcheck,
    jobs,
    likes,
    media,
    metrics,
    moderation,
    notifications,
    playlists,
    reports,
    security,
    subscriptions,
    tus,
    tweets,
    uploads,
    users,
    videos,
    watch_progress,
    webhook_endpoints,
    webhooks,
)
from shared import db
from shared.logs import configure_logging
from shared.migrate import migrate
from shared.services import job_handlers  # noqa: F401 - wiring: registers every job kind with the job engine
from shared.settings import get_settings, log_level
from shared.web import middleware

configure_logging(log_level())


def _migrate_a_dev_database() -> None:
    """`chalice local` on the embedded database: its schema is brought up to date on first use. Decided when the
    pool is made, not at import: `chalice package --stage prod` imports this module without any secrets."""
    settings = get_settings()
    if settings.stage == "dev" and not settings.database_url:
        migrate()


db.on_pool_created(_migrate_a_dev_database)
app = Chalice(app_name="viztube", configure_logs=False)
app.debug = False  # unknown errors answer a generic 500; details go to the log with the request id
app.api.binary_types.extend(["multipart/form-data", "image/webp", "video/mp4", "video/quicktime",
                             "video/x-matroska", "application/vnd.apple.mpegurl", "video/mp2t", "application/zip",
                             "text/vtt", "application/x-subrip"])

app.register_blueprint(healthcheck.bp, url_prefix="/api/v2/healthcheck")
app.register_blueprint(users.bp, url_prefix="/api/v2/user")
app.register_blueprint(security.bp, url_prefix="/api/v2/user")  # two-factor sign-in, sessions
app.register_blueprint(account_email.bp, url_prefix="/api/v2/user")  # email verification, password reset
app.register_blueprint(account_data.bp, url_prefix="/api/v2/user")  # account deletion, data export
app.register_blueprint(videos.bp, url_prefix="/api/v2/videos")
app.register_blueprint(uploads.bp, url_prefix="/api/v2/uploads")
app.register_blueprint(tus.bp, url_prefix="/api/v2/uploads/tus")
app.register_blueprint(comments.bp, url_prefix="/api/v2/comments")
app.register_blueprint(feed.bp, url_prefix="/api/v2/feed")
app.register_blueprint(tweets.bp, url_prefix="/api/v2/tweets")
app.register_blueprint(likes.bp, url_prefix="/api/v2/likes")
app.register_blueprint(subscriptions.bp, url_prefix="/api/v2/subscriptions")
app.register_blueprint(playlists.bp, url_prefix="/api/v2/playlist")
app.register_blueprint(dashboard.bp, url_prefix="/api/v2/dashboard")
app.register_blueprint(media.bp, url_prefix="/api/v2/media")
app.register_blueprint(webhooks.bp, url_prefix="/api/v2/webhooks")
app.register_blueprint(webhook_endpoints.bp, url_prefix="/api/v2/webhooks")  # API clients' own endpoints
app.register_blueprint(notifications.bp, url_prefix="/api/v2/notifications")
app.register_blueprint(blocks.bp, url_prefix="/api/v2/user")  # a user's blocks
app.register_blueprint(reports.bp, url_prefix="/api/v2/reports")
app.register_blueprint(moderation.bp, url_prefix="/api/v2/moderation")
app.register_blueprint(captions.bp, url_prefix="/api/v2")  # /videos/{id}/captions*, /media/captions/*
app.register_blueprint(watch_progress.bp, url_prefix="/api/v2")  # /videos/{id}/progress, /user/continue-watching
app.register_blueprint(docs.bp, url_prefix="/api/v2")
app.register_blueprint(metrics.bp)
app.register_blueprint(jobs.bp)  # SQS consumer and schedule (serverless); the one-box server runs jobs in-process
app.register_blueprint(fallback.bp)  # last: JSON 404 for whatever no route above claims

app.register_middleware(middleware.handle, "http")
