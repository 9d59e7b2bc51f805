"""What is cached, under which key, and what forgets it: every cached read beside the invalidation that retires
it (the engine, its backends and its failure rules are shared.cache).

Writers call the `forget_*` of what they changed inside their transaction; the entries go once it commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from shared import cache
from shared.settings import get_settings

FEED_GENERATION = "feed:gen"


# ------------------------------------------------------------------ channels (profile, counts, username → id)


def channel_id(username: str, load: Callable[[], Any]) -> Any:
    return cache.read_through(f"uid:{username}", load)


def channel(user_id: object, load: Callable[[], Any]) -> Any:
    """A channel's profile and counts."""
    return cache.read_through(f"channel:{user_id}", load)


def forget_channel(user_id: object, *usernames: str) -> None:
    """A user's profile, counts or name changed: their profile, and everything showing their brief."""
    cache.forget(f"channel:{user_id}", *(f"uid:{name}" for name in usernames))
    forget_feed()


def forget_channel_counts(*user_ids: object) -> None:
    cache.forget(*(f"channel:{uid}" for uid in user_ids))


# ------------------------------------------------------------------ videos and the feed


def video(video_id: uuid.UUID, load: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
    """A video as the API shows it; only published ones are kept (an unpublished one's URLs are signed for its
    owner alone)."""
    found: dict[str, Any] | None = cache.read_through(f"video:{video_id}", load,
                                                      keep=lambda v: bool(v and v["isPublished"]))
    return found


def video_access(video_id: uuid.UUID, load: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
    """Who may open a video (privacy, owner, takedown); kept, as `video`, only for a public video not taken down:
    every write that could change it forgets it with the video (`forget_video`)."""
    found: dict[str, Any] | None = cache.read_through(
        f"video-access:{video_id}", load, keep=lambda a: bool(a and a["privacy"] == "public" and not a["taken_down"]))
    return found


def forget_video(video_id: object) -> None:
    cache.forget(f"video:{video_id}")
    cache.forget(f"video-access:{video_id}")
    forget_feed()


def feed_page(sort_by: str, sort_type: str, limit: int, load: Callable[[], Any]) -> Any:
    """The feed's first page for one ordering; keyed by a generation that every video write bumps."""
    key = f"feed:{cache.generation(FEED_GENERATION)}:{sort_by}:{sort_type}:{limit}"
    return cache.read_through(key, load, ttl=get_settings().feed_cache_ttl_seconds)


def forget_feed() -> None:
    """Bumping the generation retires every cached first page at once."""
    cache.bump(FEED_GENERATION)


# ------------------------------------------------------------------ who is signed in


def session(session_id: object, user_id: object, load: Callable[[], Any], *, ttl: int,
            fresh: Callable[[Any], bool]) -> Any:
    """The user behind an access token's session, guarded: never served once their sign-ins are retired."""
    return cache.read_guarded(f"session:{session_id}", f"auth:{user_id}", load, ttl=ttl, fresh=fresh)


def forget_sign_ins(user_id: object) -> None:
    """A user's sessions or profile changed: every cached "who is this token" answer for them is retired."""
    cache.retire(f"auth:{user_id}")
