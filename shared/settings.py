"""The only reader of the environment: every setting VizTube has, validated once, as a frozen object."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from dotenv import dotenv_values

PROJECT_DIR = Path(__file__).resolve().parent.parent
STAGES = ("dev", "test", "prod")


# Rate limits (the `limits` library's notation); each can be overridden with RATE_LIMIT_<NAME>.
RATE_LIMIT_DEFAULTS = {
    "login_account": "10/5minutes",  # per client IP + account tried
    "login_ip": "30/5minutes",
    "register": "5/hour",
    "refresh": "30/5minutes",
    "uploads": "30/hour",  # per user: signing direct uploads and publishing
    "global": "600/minute",  # per client IP, every route
}


def _cache_backend(env: dict[str, str], on_lambda: bool) -> str:
    """redis with REDIS_URL; in-process only where one process serves everything (it cannot see other
    processes' invalidations); otherwise off. CACHE=off turns it off anywhere."""
    wanted = env.get("CACHE", "auto").strip().lower()
    if wanted not in ("auto", "off", "memory", "redis"):
        raise SettingsError(f"CACHE must be auto, off, memory or redis, got {wanted!r}")
    if wanted == "off":
        return "off"
    if env.get("REDIS_URL"):
        return "redis"
    if wanted == "redis":
        raise SettingsError("CACHE=redis needs REDIS_URL")
    multi_process = on_lambda or int(env.get("WEB_CONCURRENCY", "1") or 1) > 1
    return "off" if multi_process and wanted == "auto" else "memory"


def _web_concurrency(env: dict[str, str], stage: str) -> int:
    """Server worker processes. Several without REDIS_URL share nothing: each counts rate limits on its own
    (N processes let N times a limit through) and none can tell the others what to forget from a cache, so
    prod refuses it (issue #10, point 6) and the server warns about it elsewhere (shared.scale_out)."""
    workers = _positive_int(env, "WEB_CONCURRENCY", 1)
    if stage == "prod" and workers > 1 and not env.get("REDIS_URL"):
        raise SettingsError(f"WEB_CONCURRENCY={workers} needs REDIS_URL in the prod stage: without it each process"
                            " keeps its own rate limits (letting the limit through once per process) and cache")
    return workers


class SettingsError(RuntimeError):
    """The configuration cannot be used; the message says which variable and why."""


def _default_home(env: dict[str, str]) -> Path:
    if "AWS_LAMBDA_FUNCTION_NAME" in env:
        # On Lambda only /tmp is writable ($HOME is on the read-only image, platform-notes §9): uploads are
        # staged there. Lambda sets no TMPDIR; honouring one lets the Lambda emulation test keep its own.
        return Path(env.get("TMPDIR") or "/tmp") / "viztube"
    # Outside the checkout on purpose: `chalice local` reloads on any file change under the project
    # directory, so database files and media written there would restart it in a loop.
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "viztube"


def _duration(value: str, name: str) -> int:
    """Seconds from '900', '15m', '7d', '12h' (the original's env style)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = value.strip().lower()
    try:
        if text and text[-1] in units:
            seconds = int(text[:-1]) * units[text[-1]]
        else:
            seconds = int(text)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds or like 15m / 7d, got {value!r}") from None
    if seconds <= 0:
        raise SettingsError(f"{name} must be positive")
    return seconds


def _positive_int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise SettingsError(f"{name} must be a positive integer")
    return int(raw)


def _bool(value: str, name: str) -> bool:
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {value!r}")


@dataclass(frozen=True)
class Settings:
    stage: str
    home: Path
    database_url: str | None
    host: str
    port: int
    public_url: str
    access_token_secret: str
    refresh_token_secret: str
    media_url_secret: str
    access_token_ttl: int
    refresh_token_ttl: int
    cors_origins: tuple[str, ...]
    storage: str
    cloudinary_url: str | None
    bcrypt_rounds: int
    db_pool_size: int
    max_json_bytes: int
    max_image_bytes: int
    max_video_bytes: int
    log_level: str
    view_window_seconds: int
    upload_ttl_seconds: int
    max_request_bytes: int | None
    redis_url: str | None
    web_concurrency: int  # server worker processes (make run); more than one needs redis_url to share state
    web_threads: int  # Python threads per server process running requests (default: one per pooled connection)
    rate_limits_enabled: bool
    rate_limits: dict[str, str]
    trusted_proxies: tuple[str, ...]
    cache_backend: str
    cache_ttl_seconds: int
    feed_cache_ttl_seconds: int
    jobs_queue_url: str | None
    job_lease_seconds: int
    hls_enabled: bool
    max_processing_queue: int
    ffmpeg_binary: str | None
    metrics_token: str | None
    aws_endpoint_url: str | None
    extra: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    staging_sweep_seconds: int = 300  # how often `make run` removes uploads abandoned in staging

    @property
    def cookie_secure(self) -> bool:
        return self.stage != "dev"

    @property
    def media_dir(self) -> Path:
        return self.home / "media"

    @property
    def staging_dir(self) -> Path:
        """Where uploads are spooled while parsed: never served."""
        return self.home / "staging"

    @property
    def pgdata_dir(self) -> Path:
        return self.home / "pgdata"

    @property
    def on_lambda(self) -> bool:
        return "AWS_LAMBDA_FUNCTION_NAME" in self.extra


def _persisted_secrets(home: Path) -> dict[str, str]:
    """Random per-install secrets for dev/test, created once and kept under VIZTUBE_HOME."""
    path = home / "secrets.json"
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        data = {}
    wanted = ("ACCESS_TOKEN_SECRET", "REFRESH_TOKEN_SECRET", "MEDIA_URL_SECRET")
    if not all(data.get(k) for k in wanted):
        for key in wanted:
            data.setdefault(key, secrets.token_urlsafe(48))
        home.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.chmod(0o600)
        os.replace(tmp, path)
    return data


def _secrets_from_aws(env: dict[str, str]) -> dict[str, str]:
    """Secrets kept in AWS, fetched when settings are built (once per process / Lambda container):
    SECRETS_SSM_PATH (every SecureString under a path, named by its last segment) and/or SECRETS_ARN
    (a Secrets Manager secret holding a JSON object of NAME: value)."""
    path, arn = env.get("SECRETS_SSM_PATH"), env.get("SECRETS_ARN")
    if not path and not arn:
        return {}
    import boto3  # in the Lambda runtime; pinned for the one-box server

    endpoint = env.get("AWS_ENDPOINT_URL") or None
    found: dict[str, str] = {}
    try:
        if path:
            ssm = boto3.client("ssm", endpoint_url=endpoint)
            for page in ssm.get_paginator("get_parameters_by_path").paginate(
                    Path=path, Recursive=True, WithDecryption=True):
                for parameter in page["Parameters"]:
                    found[parameter["Name"].rsplit("/", 1)[-1]] = parameter["Value"]
        if arn:
            secret = boto3.client("secretsmanager", endpoint_url=endpoint).get_secret_value(SecretId=arn)
            values = json.loads(secret["SecretString"])
            if not isinstance(values, dict):
                raise SettingsError("SECRETS_ARN must hold a JSON object of NAME: value")
            found.update({str(k): str(v) for k, v in values.items()})
    except SettingsError:
        raise
    except Exception as exc:  # noqa: BLE001 - any AWS failure: refuse to start with a clear reason
        raise SettingsError(f"could not read secrets from AWS: {exc}") from exc
    return found


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build Settings from the process environment, over a `.env` file (project dir or cwd), under AWS secrets."""
    env: dict[str, str] = {}
    for candidate in (PROJECT_DIR / ".env", Path.cwd() / ".env"):
        if candidate.is_file():
            env.update({k: v for k, v in dotenv_values(candidate).items() if v is not None})
    env.update(os.environ if environ is None else environ)
    env.update({k: v for k, v in _secrets_from_aws(env).items() if not env.get(k)})

    stage = env.get("VIZTUBE_STAGE", "dev")
    if stage not in STAGES:
        raise SettingsError(f"VIZTUBE_STAGE must be one of {', '.join(STAGES)}, got {stage!r}")
    home = Path(env.get("VIZTUBE_HOME") or _default_home(env)).expanduser().resolve()

    secret_names = ("ACCESS_TOKEN_SECRET", "REFRESH_TOKEN_SECRET", "MEDIA_URL_SECRET")
    given = {k: env.get(k, "") for k in secret_names}
    if stage == "prod":
        missing = [k for k, v in given.items() if not v]
        if missing:
            raise SettingsError(f"{', '.join(missing)} must be set in the prod stage")
        weak = [k for k, v in given.items() if len(v) < 32]
        if weak:
            raise SettingsError(f"{', '.join(weak)} must be at least 32 characters")
    elif not all(given.values()):
        stored = _persisted_secrets(home)
        given = {k: v or stored[k] for k, v in given.items()}

    storage = env.get("STORAGE", "local")
    if storage not in ("local", "cloudinary"):
        raise SettingsError(f"STORAGE must be local or cloudinary, got {storage!r}")
    cloudinary_url = env.get("CLOUDINARY_URL") or None
    if storage == "cloudinary" and not cloudinary_url:
        raise SettingsError("STORAGE=cloudinary needs CLOUDINARY_URL (cloudinary://key:secret@cloud)")

    host = env.get("HOST", "127.0.0.1")
    try:
        port = int(env.get("PORT", "8000"))
    except ValueError:
        raise SettingsError("PORT must be an integer") from None
    origins = tuple(o.strip().rstrip("/") for o in env.get("CORS_ORIGINS", "").split(",") if o.strip())
    if "*" in origins:
        raise SettingsError("CORS_ORIGINS must list origins explicitly; '*' cannot be used with cookies")

    on_lambda = "AWS_LAMBDA_FUNCTION_NAME" in env
    try:
        pool_default = "1" if on_lambda else "8"
        db_pool_size = int(env.get("DB_POOL_SIZE", pool_default))
        bcrypt_rounds = int(env.get("BCRYPT_ROUNDS", "10"))
    except ValueError:
        raise SettingsError("DB_POOL_SIZE and BCRYPT_ROUNDS must be integers") from None
    if not 4 <= bcrypt_rounds <= 16:
        raise SettingsError("BCRYPT_ROUNDS must be between 4 and 16")

    return Settings(
        stage=stage,
        home=home,
        database_url=env.get("DATABASE_URL") or None,
        host=host,
        port=port,
        public_url=(env.get("PUBLIC_URL") or f"http://{host}:{port}").rstrip("/"),
        access_token_secret=given["ACCESS_TOKEN_SECRET"],
        refresh_token_secret=given["REFRESH_TOKEN_SECRET"],
        media_url_secret=given["MEDIA_URL_SECRET"],
        access_token_ttl=_duration(env.get("ACCESS_TOKEN_EXPIRY", "15m"), "ACCESS_TOKEN_EXPIRY"),
        refresh_token_ttl=_duration(env.get("REFRESH_TOKEN_EXPIRY", "7d"), "REFRESH_TOKEN_EXPIRY"),
        cors_origins=origins,
        storage=storage,
        cloudinary_url=cloudinary_url,
        bcrypt_rounds=bcrypt_rounds,
        db_pool_size=max(1, db_pool_size),
        max_json_bytes=1024 * 1024,
        max_image_bytes=_positive_int(env, "MAX_IMAGE_BYTES", 10 * 1024 * 1024),
        max_video_bytes=_positive_int(env, "MAX_VIDEO_BYTES", 100 * 1024 * 1024),
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        view_window_seconds=_duration(env.get("VIEW_WINDOW", "1h"), "VIEW_WINDOW"),
        upload_ttl_seconds=_duration(env.get("UPLOAD_TTL", "1h"), "UPLOAD_TTL"),
        # The deployment's body cap: API Gateway + Lambda take ~6 MB; the one-box server takes each route's own limit.
        max_request_bytes=(int(env["MAX_REQUEST_BYTES"]) if env.get("MAX_REQUEST_BYTES", "").isdigit()
                           else 6 * 1024 * 1024 if on_lambda else None),
        redis_url=env.get("REDIS_URL") or None,
        web_concurrency=_web_concurrency(env, stage),
        web_threads=_positive_int(env, "WEB_THREADS", max(1, db_pool_size)),
        rate_limits_enabled=env.get("RATE_LIMITS", "on").strip().lower() not in ("off", "0", "false", "no"),
        rate_limits={name: env.get(f"RATE_LIMIT_{name.upper()}", default) for name, default in RATE_LIMIT_DEFAULTS.items()},
        trusted_proxies=tuple(p.strip() for p in env.get("TRUSTED_PROXIES", "").split(",") if p.strip()),
        cache_backend=_cache_backend(env, on_lambda),
        cache_ttl_seconds=_duration(env.get("CACHE_TTL", "5m"), "CACHE_TTL"),
        feed_cache_ttl_seconds=_duration(env.get("FEED_CACHE_TTL", "10s"), "FEED_CACHE_TTL"),
        jobs_queue_url=env.get("JOBS_QUEUE_URL") or None,
        # How long a running job stays claimed without a heartbeat before any node takes it over. Issue #10 wants
        # a dead worker's job taken over within 60 s: 45 s, plus a worker's 2 s poll, is that with room to spare.
        job_lease_seconds=_duration(env.get("JOB_LEASE", "45s"), "JOB_LEASE"),
        hls_enabled=env.get("HLS", "on").strip().lower() not in ("off", "0", "false", "no"),
        max_processing_queue=_positive_int(env, "MAX_PROCESSING_QUEUE", 50),
        ffmpeg_binary=env.get("FFMPEG_BINARY") or None,
        metrics_token=env.get("METRICS_TOKEN") or None,
        aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        extra={k: v for k, v in env.items() if k == "AWS_LAMBDA_FUNCTION_NAME"},
        staging_sweep_seconds=_duration(env.get("STAGING_SWEEP", "5m"), "STAGING_SWEEP"),
    )


def log_level() -> str:
    """The log level alone: read at import time, where the full settings (and their secrets) may not exist yet."""
    return os.environ.get("LOG_LEVEL", "INFO").upper()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
