"""What a server needs to start: where the data is, who may sign in, what they may see, and its limits."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from hawk_dagster.access.settings import AccessSettings, access_settings_from_env
from hawk_dagster.intake.carry import CarryError, CarryLimits
from hawk_dagster.storage.root import StorageRoot

if TYPE_CHECKING:
    from hawk_dagster.auth.cookie_seal import CookieSeal
    from hawk_dagster.auth.settings import OidcSettings

CORS_ORIGINS_ENV: Final = "HAWK_API_CORS_ORIGINS"
MAX_BODY_ENV: Final = "HAWK_API_MAX_BODY_BYTES"
PUBLIC_URL_ENV: Final = "HAWK_PUBLIC_URL"
FOLLOW_SECONDS_ENV: Final = "HAWK_API_FOLLOW_SECONDS"
DEFAULT_MAX_BODY_BYTES: Final = 1024 * 1024
"""A config is a few KiB; a megabyte leaves room (a few thousand sample edits) without letting anyone stream
gigabytes at the parser. Larger edit requests are split, or the limit raised."""
DEFAULT_FOLLOW_SECONDS: Final = 300.0
"""How long one followed log stream lasts before the server ends it with a cursor to reconnect with: proxies and
load balancers cut idle or long connections anyway, so clients reconnect as a matter of course."""
MULTIPART_BYTES_PER_FILE: Final = 1024
"""Room for one file part's headers (its name and Content-Disposition) in a submission that carries files."""


@dataclass(frozen=True)
class ServerSettings:
    storage: StorageRoot
    warehouse_url: str
    """SQLAlchemy URL of the warehouse (migrated to head before the server starts)."""
    oidc: OidcSettings | None
    """The issuer whose tokens are accepted; None: local mode (loopback only, the local user is an admin)."""
    access: AccessSettings = field(default_factory=AccessSettings)
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    follow_seconds: float = DEFAULT_FOLLOW_SECONDS
    """The longest a followed log stream lasts (the client resumes from the cursor it ends with)."""
    carry_limits: CarryLimits = field(default_factory=CarryLimits)
    """How much a submission may carry (``HAWK_CARRY_MAX_FILES``, ``HAWK_CARRY_MAX_MB``, as for ``hawk eval-set``)."""
    log_viewer: bool = True
    """Mount Inspect's log API at /api and its viewer at /viewer (imports Inspect's server: about a second)."""
    session_seal: CookieSeal | None = None
    """Seals browser sign-in's cookies (``HAWK_SESSION_SECRET``); None: a key of this process only."""
    public_url: str | None = None
    """The server's URL as browsers reach it (``HAWK_PUBLIC_URL``): the sign-in redirect URI, the origin that
    state-changing requests must come from, Secure cookies when https. None: taken from each request."""
    kubernetes: bool = False
    """The deployment runs on Kubernetes (``HAWK_DEPLOYMENT=kubernetes``): status reports include the eval set's run
    and sandbox pods, read through the Dagster instance's launcher."""

    @property
    def max_upload_bytes(self) -> int:
        """The body limit of a submission carrying files (multipart): the config, its manifest and the files."""
        limits = self.carry_limits
        return limits.max_bytes + 2 * self.max_body_bytes + limits.max_files * MULTIPART_BYTES_PER_FILE


def server_settings_from_env(
    storage: StorageRoot, warehouse_url: str, environ: Mapping[str, str] = os.environ
) -> ServerSettings:
    """Settings from ``HAWK_OIDC_*`` (``auth.settings``), the access variables (``access.settings``),
    ``HAWK_API_CORS_ORIGINS`` (space or comma separated), ``HAWK_API_MAX_BODY_BYTES``, the carry limits,
    ``HAWK_SESSION_SECRET`` (``auth.cookie_seal``), ``HAWK_PUBLIC_URL`` and ``HAWK_DEPLOYMENT``; raises
    ``ValueError`` naming the variable when one is malformed."""
    from hawk_dagster.auth.cookie_seal import seal_from_env
    from hawk_dagster.auth.settings import oidc_settings_from_env
    from hawk_dagster.deployment.kind import KUBERNETES, deployment_from_env

    raw_limit = environ.get(MAX_BODY_ENV, "").strip()
    if raw_limit and (not raw_limit.isdigit() or int(raw_limit) < 1):
        raise ValueError(f"{MAX_BODY_ENV} must be a positive number of bytes; got {raw_limit!r}")
    public_url = environ.get(PUBLIC_URL_ENV, "").strip().rstrip("/") or None
    if public_url is not None:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(
                f"{PUBLIC_URL_ENV} must be the server's http(s) URL, e.g. https://hawk.example.org"
            )
    try:
        carry_limits = CarryLimits.from_env(environ)
    except CarryError as ex:
        raise ValueError(str(ex)) from None
    origins = tuple(o for o in environ.get(CORS_ORIGINS_ENV, "").replace(",", " ").split() if o)
    raw_follow = environ.get(FOLLOW_SECONDS_ENV, "").strip()
    try:
        follow_seconds = float(raw_follow) if raw_follow else DEFAULT_FOLLOW_SECONDS
        assert follow_seconds > 0
    except (ValueError, AssertionError):
        raise ValueError(
            f"{FOLLOW_SECONDS_ENV} must be a positive number of seconds; got {raw_follow!r}"
        ) from None
    return ServerSettings(
        storage=storage,
        warehouse_url=warehouse_url,
        oidc=oidc_settings_from_env(environ),
        access=access_settings_from_env(environ),
        cors_origins=origins,
        max_body_bytes=int(raw_limit) if raw_limit else DEFAULT_MAX_BODY_BYTES,
        session_seal=seal_from_env(environ),
        public_url=public_url,
        follow_seconds=follow_seconds,
        carry_limits=carry_limits,
        kubernetes=deployment_from_env(environ) == KUBERNETES,
    )
