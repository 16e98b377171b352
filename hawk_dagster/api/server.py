"""Running the API: checks before binding (no issuer means loopback only), logging with request ids, uvicorn."""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import TYPE_CHECKING

from hawk_dagster.api.request_context import LOG_FORMAT, RequestIdLogFilter

if TYPE_CHECKING:
    from hawk_dagster.api.settings import ServerSettings


class UnsafeBindError(ValueError):
    """A server without an issuer (everyone is the local administrator) asked to listen beyond this machine."""


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` stands for is a loopback address (``127.0.0.1``, ``::1``, ``localhost``)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses)


def check_bind(host: str, settings: ServerSettings) -> None:
    """Refuse to serve beyond loopback without an issuer: the local user is an administrator, so anyone who could
    reach the port would be one too."""
    if settings.oidc is None and not is_loopback(host):
        raise UnsafeBindError(
            f"--host {host}: without an OpenID issuer (HAWK_OIDC_ISSUER) the server treats every caller as the local "
            "administrator, so it listens on loopback only (127.0.0.1, ::1 or localhost). Set HAWK_OIDC_ISSUER and "
            "HAWK_OIDC_AUDIENCE to serve others."
        )


def configure_logging(level: int = logging.INFO) -> None:
    """One format for ours, uvicorn's and every library's lines, each with the request id it was logged under."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RequestIdLogFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True


def run(settings: ServerSettings, host: str, port: int) -> None:
    """Serve until interrupted (raises :class:`UnsafeBindError` before binding when the host is not allowed)."""
    import uvicorn

    from hawk_dagster.api.app import create_app

    check_bind(host, settings)
    configure_logging()
    app = create_app(settings)
    # uvicorn's access log runs outside the request's context; RequestMiddleware logs each request with its id.
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, proxy_headers=False)
