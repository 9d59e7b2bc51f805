"""The only reader of the environment: every setting VizTube has, validated once, as a frozen object.

pydantic-settings reads and types the variables: each field of `Settings` is read from the variable named like the
field in capitals, unless its `validation_alias` names another. What stays ours is what the library cannot know:
where the variables come from (`_Environment`), the project's notations (durations like 15m, a blank count meaning
its default), the values derived from others (Lambda defaults, the cache backend) and the refusals, raised as
`SettingsError` naming the variable.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, NoReturn
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AliasGenerator,
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError, PydanticUseDefault
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
STAGES = ("dev", "test", "prod")
SECRET_NAMES = ("ACCESS_TOKEN_SECRET", "REFRESH_TOKEN_SECRET", "MEDIA_URL_SECRET")
MB = 1024 * 1024


class SettingsError(RuntimeError):
    """The configuration cannot be used; the message says which variable and why."""


# How a variable's text becomes a value. An `_invalid` message is said after the variable's name; a `_refused` one
# is a whole sentence, because it names the several variables that conflict.
def _invalid(message: str) -> NoReturn:
    raise PydanticCustomError("invalid", message)


def _refused(message: str) -> NoReturn:
    raise PydanticCustomError("refused", message)


def _blank_is_default(value: Any) -> Any:
    if value == "":
        raise PydanticUseDefault
    return value


def _integer(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        _invalid("must be an integer")


def _count(value: Any) -> int:
    """A positive integer; blank means the default."""
    text = str(_blank_is_default(value))
    if not text.isdigit() or int(text) <= 0:
        _invalid("must be a positive integer")
    return int(text)


def _seconds(value: Any) -> int:
    """Seconds from '900', '15m', '7d', '12h' (the original's env style)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = str(value).strip().lower()
    try:
        seconds = int(text[:-1]) * units[text[-1]] if text and text[-1] in units else int(text)
    except ValueError:
        _invalid(f"must be a number of seconds or like 15m / 7d, got {value!r}")
    if seconds <= 0:
        _invalid("must be positive")
    return seconds


def _origins(names: tuple[str, ...]) -> tuple[str, ...]:
    origins = tuple(origin.rstrip("/") for origin in names)
    if "*" in origins:
        _invalid("must list origins explicitly; '*' cannot be used with cookies")
    return origins


def _one_of(*options: str, listed: str = "") -> BeforeValidator:
    def check(value: Any) -> str:
        if str(value) not in options:
            _invalid(f"must be {listed or ', '.join(options[:-1]) + ' or ' + options[-1]}, got {value!r}")
        return str(value)

    return BeforeValidator(check)


def _digits_or_default(value: Any) -> int:
    """A byte count, where anything but digits means the default (as it always has for MAX_REQUEST_BYTES)."""
    if not str(value).isdigit():
        raise PydanticUseDefault
    return int(value)


def _http_url(value: Any) -> str | None:
    """An http(s) base URL without its trailing slash; blank is unset."""
    text = str(value or "").strip().rstrip("/")
    if not text:
        return None
    if not text.startswith(("http://", "https://")):
        _invalid(f"must be an http:// or https:// URL, got {value!r}")
    return text


def _same_site(value: Any) -> str:
    """A cookie's SameSite, in any case: Strict, Lax or None; blank means the default."""
    text = str(_blank_is_default(value)).strip().capitalize()
    if text not in ("Strict", "Lax", "None"):
        _invalid(f"must be Strict, Lax or None, got {value!r}")
    return text


def _cookie_domain(value: Any) -> str | None:
    """A cookie's Domain: a host name (a leading dot is dropped, as browsers do); blank is unset (host-only)."""
    text = str(value or "").strip().lower().removeprefix(".")
    if not text:
        return None
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", text):
        _invalid(f"must be a host name like example.com (no scheme, port or path), got {value!r}")
    return text


def _smtp_url(value: Any) -> str | None:
    """smtp:// (plain, or STARTTLS with ?starttls) or smtps:// (TLS from the start), with a host; blank is unset."""
    text = str(value or "").strip()
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        _invalid("must be like smtp://user:pass@host:587?starttls or smtps://user:pass@host:465")
    try:
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        _invalid("has a port that is not a number")
    return text


def _mail_from(value: Any) -> str:
    """The From of every mail: an address, optionally with a name ("VizTube <no-reply@example.com>")."""
    text = str(_blank_is_default(value)).strip()
    if "@" not in parseaddr(text)[1]:
        _invalid(f"must be an email address like 'VizTube <no-reply@example.com>', got {value!r}")
    return text


def _bcrypt_rounds(rounds: int) -> int:
    if not 4 <= rounds <= 16:
        _invalid("must be between 4 and 16")
    return rounds


def _caption_cap(size: int) -> int:
    if not 1024 <= size <= 960 * 1024:
        _invalid("must be between 1024 and 983040 bytes (a caption's body is capped like any small body, at 1 MB)")
    return size


Seconds = Annotated[int, BeforeValidator(_seconds)]
Integer = Annotated[int, BeforeValidator(_integer)]
Count = Annotated[int, BeforeValidator(_count)]
# On unless turned off: any other text leaves the feature on.
Switch = Annotated[bool, BeforeValidator(lambda value: str(value).strip().lower() not in ("off", "0", "false", "no"))]
MaybeText = Annotated[str | None, BeforeValidator(lambda value: value or None)]  # blank is unset
# Comma-separated (NoDecode: pydantic-settings would otherwise expect JSON for a tuple).
Names = Annotated[tuple[str, ...], NoDecode,
                  BeforeValidator(lambda value: tuple(item.strip() for item in str(value).split(",") if item.strip()))]


def _on_lambda(data: Mapping[str, Any]) -> bool:
    # Lambda sets AWS_LAMBDA_FUNCTION_NAME; its presence, even empty, is what tells.
    return data.get("aws_lambda_function_name") is not None


def _default_home(data: dict[str, Any]) -> Path:
    if _on_lambda(data):
        # On Lambda only /tmp is writable ($HOME is on the read-only image, platform-notes §9): uploads are
        # staged there. Lambda sets no TMPDIR; honouring one lets the Lambda emulation test keep its own.
        return Path(data.get("tmpdir") or "/tmp") / "viztube"
    # Outside the checkout on purpose: `chalice local` reloads on any file change under the project
    # directory, so database files and media written there would restart it in a loop.
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "viztube"


class Settings(BaseSettings):
    """Fields are validated in the order written: a default or check that depends on another field follows it."""

    model_config = SettingsConfigDict(
        frozen=True,
        case_sensitive=True,  # PORT is read, port is not
        alias_generator=AliasGenerator(validation_alias=str.upper),
        env_file=(PROJECT_DIR / ".env", ".env"),  # the project's, then the working directory's, which wins
        validate_default=False,  # defaults are values already, not text to parse; the fields that say so are checked
    )

    aws_lambda_function_name: str | None = None
    tmpdir: str | None = None  # only read on Lambda, for the home
    stage: Annotated[str, _one_of(*STAGES, listed=f"one of {', '.join(STAGES)}")] = Field(
        "dev", validation_alias="VIZTUBE_STAGE")
    home: Annotated[Path, BeforeValidator(_blank_is_default), AfterValidator(lambda path: path.expanduser().resolve())] = (
        Field(default_factory=_default_home, validation_alias="VIZTUBE_HOME", validate_default=True))
    # Required, of 32+ characters, in prod; elsewhere generated once and kept in VIZTUBE_HOME/secrets.json.
    access_token_secret: str = Field("", validate_default=True)
    refresh_token_secret: str = Field("", validate_default=True)
    media_url_secret: str = Field("", validate_default=True)
    # Encrypts TOTP secrets at rest (unset: a key derived from ACCESS_TOKEN_SECRET; set it before anyone enrols if
    # that secret may be rotated, since changing the key makes every enrolled secret unreadable).
    two_factor_key: MaybeText = None
    database_url: MaybeText = None
    host: str = "127.0.0.1"
    port: Integer = 8000
    public_url: Annotated[str, BeforeValidator(_blank_is_default), AfterValidator(lambda url: url.rstrip("/"))] = Field(
        default_factory=lambda data: f"http://{data['host']}:{data['port']}", validate_default=True)
    access_token_ttl: Seconds = Field(15 * 60, validation_alias="ACCESS_TOKEN_EXPIRY")
    refresh_token_ttl: Seconds = Field(7 * 86400, validation_alias="REFRESH_TOKEN_EXPIRY")
    cors_origins: Annotated[Names, AfterValidator(_origins)] = ()
    # The auth cookies' SameSite (None lets a front end on another site send them, and needs Secure) and Domain
    # (unset: only the API's own host gets them back).
    cookie_samesite: Annotated[str, BeforeValidator(_same_site)] = "Strict"
    cookie_domain: Annotated[str | None, BeforeValidator(_cookie_domain)] = None
    storage: Annotated[str, _one_of("local", "cloudinary", "s3")] = "local"
    cloudinary_url: MaybeText = None
    # STORAGE=s3: the bucket (required); any S3-compatible endpoint (unset: AWS's, or AWS_ENDPOINT_URL); path- or
    # virtual-host-style addressing; the base (a CDN in front of the bucket) published media are delivered from
    # (unset: the bucket's own URLs). Credentials and region come from boto3's usual chain.
    s3_bucket: MaybeText = None
    s3_endpoint_url: Annotated[str | None, BeforeValidator(_http_url)] = None
    s3_addressing: Annotated[str, _one_of("path", "virtual")] = "virtual"
    media_base_url: Annotated[str | None, BeforeValidator(_http_url)] = None
    bcrypt_rounds: Annotated[Integer, AfterValidator(_bcrypt_rounds)] = 10
    db_pool_size: Annotated[Integer, AfterValidator(lambda size: max(1, size))] = Field(
        default_factory=lambda data: 1 if _on_lambda(data) else 8)  # one connection per Lambda container
    max_json_bytes: ClassVar[int] = 1 * MB  # JSON and small form bodies: not configurable
    max_image_bytes: Count = 10 * MB
    max_video_bytes: Count = 100 * MB
    # A caption file (WebVTT or SubRip; hours of dialogue are ~100 KB). Its route's body is capped like any small
    # body (max_json_bytes, with room for a multipart form around the file), so it cannot go beyond 960 KB.
    max_caption_bytes: Annotated[Count, AfterValidator(_caption_cap)] = 512 * 1024
    # How often a viewer's watch position is written at most, per video (POST /videos/{id}/progress).
    watch_progress_interval_seconds: Seconds = Field(10, validation_alias="WATCH_PROGRESS_INTERVAL")
    log_level: Annotated[str, AfterValidator(str.upper)] = "INFO"
    view_window_seconds: Seconds = Field(3600, validation_alias="VIEW_WINDOW")
    upload_ttl_seconds: Seconds = Field(3600, validation_alias="UPLOAD_TTL")
    # How long a resumable (tus) upload may take from creation to its last byte; each chunk received extends it.
    resumable_ttl_seconds: Seconds = Field(24 * 3600, validation_alias="RESUMABLE_TTL")
    # The deployment's body cap: API Gateway + Lambda take ~6 MB; the one-box server takes each route's own limit.
    max_request_bytes: Annotated[int | None, BeforeValidator(_digits_or_default)] = Field(
        default_factory=lambda data: 6 * MB if _on_lambda(data) else None)
    redis_url: MaybeText = None
    web_concurrency: Count = 1  # server worker processes; more than one needs redis_url
    # Python threads per server process running requests (default: one per pooled connection).
    web_threads: Count = Field(default_factory=lambda data: max(1, data["db_pool_size"]))
    rate_limits_enabled: Switch = Field(True, validation_alias="RATE_LIMITS")
    # Rate limits (the `limits` library's notation), gathered by name in `rate_limits`.
    rate_limit_login_account: str = "10/5minutes"  # per client IP + account tried
    rate_limit_login_ip: str = "30/5minutes"
    rate_limit_register: str = "5/hour"
    rate_limit_refresh: str = "30/5minutes"
    rate_limit_uploads: str = "30/hour"  # per user: signing direct uploads and publishing
    rate_limit_global: str = "600/minute"  # per client IP, every route
    rate_limit_two_factor: str = "10/5minutes"  # per account: codes tried (sign-in's second step, confirm, disable)
    rate_limit_verify_email: str = "3/hour"  # per user: sending the verification link again
    rate_limit_forgot_password: str = "5/hour"  # per account named (counted alike whether it exists or not)
    rate_limit_delete_account: str = "5/hour"  # per user: password (and code) tries of an account deletion
    rate_limit_data_export: str = "5/day"  # per user: data exports requested (each one zips all their media)
    rate_limit_reports: str = "20/hour"  # per user: abuse reports filed (the moderators' queue is not a flood target)
    trusted_proxies: Names = ()
    cache_backend: str = Field("auto", validation_alias="CACHE", validate_default=True)
    cache_ttl_seconds: Seconds = Field(5 * 60, validation_alias="CACHE_TTL")
    feed_cache_ttl_seconds: Seconds = Field(10, validation_alias="FEED_CACHE_TTL")
    jobs_queue_url: MaybeText = None
    # A second SQS queue for the heavy kinds (transcoding), consumed by `python -m infra.worker` on machines of its
    # own while Lambda consumes JOBS_QUEUE_URL: set, heavy jobs are announced there and no sweep runs them elsewhere.
    heavy_jobs_queue_url: MaybeText = None
    # How long a running job stays claimed without a heartbeat before any node takes it over. Issue #10 wants
    # a dead worker's job taken over within 60 s: 45 s, plus a worker's 2 s poll, is that with room to spare.
    job_lease_seconds: Seconds = Field(45, validation_alias="JOB_LEASE")
    # Whether API server processes run jobs too (one box); off on API nodes when `python -m infra.worker` runs them.
    jobs_enabled: Switch = Field(True, validation_alias="JOBS")
    hls_enabled: Switch = Field(True, validation_alias="HLS")
    max_processing_queue: Count = 50
    ffmpeg_binary: MaybeText = None
    metrics_token: MaybeText = None
    aws_endpoint_url: MaybeText = None
    staging_sweep_seconds: Seconds = Field(300, validation_alias="STAGING_SWEEP")  # removing abandoned staged uploads
    # Mail (issue #16, shared.mail): SMTP_URL is smtp://user:pass@host:587?starttls (STARTTLS) or
    # smtps://user:pass@host:465 (TLS from the start); unset, each mail is written to VIZTUBE_HOME/mail/ as an .eml
    # file (its links also logged, outside prod). SMTP_CA_FILE: a CA bundle for a relay with a private CA.
    smtp_url: Annotated[str | None, BeforeValidator(_smtp_url)] = None
    smtp_ca_file: MaybeText = None
    smtp_timeout_seconds: Seconds = Field(10, validation_alias="SMTP_TIMEOUT")
    mail_from: Annotated[str, BeforeValidator(_mail_from)] = "VizTube <no-reply@localhost>"
    # The front end's base URL that links in mails open (/verify-email?token=..., /reset-password?token=...).
    app_url: Annotated[str, BeforeValidator(_blank_is_default), AfterValidator(lambda url: url.rstrip("/"))] = Field(
        default_factory=lambda data: data["public_url"], validate_default=True)
    # Whether an account must verify its email before it may upload or comment. Off by default in every stage: the
    # v2 contract's clients register and upload at once (contract-v2.md); an operator turns it on deliberately.
    require_verified_email: Switch = False
    # Data exports (issue #16, point 7): the zip's cap (media that would pass it are left out and listed in its
    # manifest; the data itself is always there) and how long its link works before the zip is removed.
    max_export_bytes: Count = 4096 * MB
    export_ttl_seconds: Seconds = Field(48 * 3600, validation_alias="EXPORT_TTL")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # So that `Settings()` reads what `load_settings()` reads.
        return init_settings, _Environment(settings_cls)

    @field_validator("access_token_secret", "refresh_token_secret", "media_url_secret")
    @classmethod
    def _secret(cls, value: str, info: ValidationInfo) -> str:
        if "stage" not in info.data or "home" not in info.data:
            return value  # refused already: create no secrets file for a configuration that cannot start
        if info.data["stage"] == "prod":
            if not value:
                _invalid("must be set in the prod stage")
            if len(value) < 32:
                _invalid("must be at least 32 characters")
            return value
        return value or _persisted_secrets(info.data["home"])[str(info.field_name).upper()]

    @model_validator(mode="after")
    def _refusals(self) -> Settings:
        """Variables each fine alone that cannot work together."""
        if self.cookie_samesite == "None" and not self.cookie_secure:
            _refused("COOKIE_SAMESITE=None needs Secure cookies (browsers drop a SameSite=None cookie without it), and"
                     " the dev stage sends them without Secure: use VIZTUBE_STAGE=test or prod behind HTTPS, or keep"
                     " Strict/Lax and serve the front end from the API's site (e.g. both on localhost)")
        if self.storage == "cloudinary" and not self.cloudinary_url:
            _refused("STORAGE=cloudinary needs CLOUDINARY_URL (cloudinary://key:secret@cloud)")
        if self.storage == "s3" and not self.s3_bucket:
            _refused("STORAGE=s3 needs S3_BUCKET (the bucket media are stored in)")
        # Several processes without REDIS_URL share nothing: each counts rate limits on its own (N processes let N
        # times a limit through) and none can tell the others what to forget from a cache, so prod refuses it
        # (issue #10, point 6) and the server warns about it elsewhere (shared.scale_out).
        if self.stage == "prod" and self.web_concurrency > 1 and not self.redis_url:
            _refused(f"WEB_CONCURRENCY={self.web_concurrency} needs REDIS_URL in the prod stage: without it each"
                     " process keeps its own rate limits (letting the limit through once per process) and cache")
        return self

    @field_validator("cache_backend")
    @classmethod
    def _cache_backend(cls, wanted: str, info: ValidationInfo) -> str:
        """redis with REDIS_URL; in-process only where one process serves everything (it cannot see other
        processes' invalidations); otherwise off. CACHE=off turns it off anywhere."""
        wanted = wanted.strip().lower()
        if wanted not in ("auto", "off", "memory", "redis"):
            _invalid(f"must be auto, off, memory or redis, got {wanted!r}")
        if wanted == "off":
            return "off"
        if info.data.get("redis_url"):
            return "redis"
        if wanted == "redis":
            _refused("CACHE=redis needs REDIS_URL")
        multi_process = _on_lambda(info.data) or info.data.get("web_concurrency", 1) > 1
        return "off" if multi_process and wanted == "auto" else "memory"

    @property
    def rate_limits(self) -> dict[str, str]:
        return {name: getattr(self, f"rate_limit_{name}") for name in RATE_LIMIT_DEFAULTS}

    @property
    def cookie_secure(self) -> bool:
        return self.stage != "dev"

    @property
    def media_dir(self) -> Path:
        return self.home / "media"

    @property
    def resumable_dir(self) -> Path:
        """Where resumable uploads gather their bytes on this node's disk until whole: never served, kept until the
        upload finishes, is terminated or expires (RESUMABLE_TTL)."""
        return self.home / "resumable"

    @property
    def staging_dir(self) -> Path:
        """Where uploads are spooled while parsed: never served."""
        return self.home / "staging"

    @property
    def scratch_dir(self) -> Path:
        """Where media are worked on for a remote store (a download to probe, HLS output before upload): never
        served, each piece removed when its work ends."""
        return self.home / "scratch"

    @property
    def mail_dir(self) -> Path:
        """Where mails go as .eml files when there is no SMTP_URL (development)."""
        return self.home / "mail"

    @property
    def pgdata_dir(self) -> Path:
        return self.home / "pgdata"

    @property
    def on_lambda(self) -> bool:
        return self.aws_lambda_function_name is not None


# Each can be overridden with RATE_LIMIT_<NAME>.
RATE_LIMIT_DEFAULTS: dict[str, str] = {name.removeprefix("rate_limit_"): field.default
                                       for name, field in Settings.model_fields.items() if name.startswith("rate_limit_")}


class _Environment(EnvSettingsSource):
    """The variables Settings are read from: the `.env` files model_config names, under the process environment
    (or the mapping a test passes instead), under secrets kept in AWS. One mapping rather than one pydantic-settings
    source per layer, because a secret from AWS fills a variable left empty too, which layered sources cannot do (an
    empty value from a higher one wins), and because AWS is asked where the merged variables say."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        dotenv = DotEnvSettingsSource(self.settings_cls).env_vars
        env = {name: value for name, value in dotenv.items() if value is not None}  # a bare `NAME` line sets nothing
        env.update(self._environ)
        env.update({name: value for name, value in _secrets_from_aws(env).items() if not env.get(name)})
        return env


def _persisted_secrets(home: Path) -> dict[str, str]:
    """Random per-install secrets for dev/test, created once and kept under VIZTUBE_HOME."""
    path = home / "secrets.json"
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        data = {}
    if not all(data.get(k) for k in SECRET_NAMES):
        for key in SECRET_NAMES:
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
    except Exception as exc:  # any AWS failure: refuse to start with a clear reason
        raise SettingsError(f"could not read secrets from AWS: {exc}") from exc
    return found


def _describe(error: ValidationError) -> str:
    """Each problem once, naming its variables; problems worded alike share a sentence (A, B must be set...)."""
    sentences: dict[str, list[str]] = {}
    for problem in error.errors(include_url=False):
        # A refused default is located by its field's name, a given value by its variable: say the variable.
        name = ".".join(str(part) for part in problem["loc"])
        name = str(getattr(Settings.model_fields.get(name), "validation_alias", None) or name)
        if problem["type"] == "invalid":
            sentences.setdefault(problem["msg"], []).append(name)
        elif problem["type"] == "refused":
            sentences.setdefault(problem["msg"], [])
        elif problem["type"] != "default_factory_not_called":  # that one follows from another problem listed
            sentences.setdefault(f"{name}: {problem['msg']}", [])
    return "; ".join(f"{', '.join(names)} {text}" if names else text for text, names in sentences.items())


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the process environment (or `environ`), over `.env` files, under AWS secrets."""
    try:
        # mypy types the constructor from the fields (pydantic's dataclass_transform), not BaseSettings.__init__,
        # so it does not know the `_build_sources` keyword, which is how a source chain is handed to pydantic-settings.
        return Settings(_build_sources=((_Environment(Settings, environ),), {}))  # type: ignore[call-arg]
    except ValidationError as exc:
        # Not chained: pydantic's own text quotes the values, secrets among them, into whatever logs the error.
        raise SettingsError(_describe(exc)) from None


def log_level() -> str:
    """The log level alone: read at import time, where the full settings (and their secrets) may not exist yet."""
    return os.environ.get("LOG_LEVEL", "INFO").upper()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
