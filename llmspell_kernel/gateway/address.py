"""`gateway://HOST:PORT[/BASE][?kernel=NAME&kernel_id=ID&keep=1]`: a gateway named as a connection
string (cli.md), parsed into the HTTP and websocket URLs it stands for."""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass

from llmspell_kernel.errors import UsageError

SCHEMES = {"gateway": ("http", "ws"), "gateways": ("https", "wss")}
DEFAULT_KERNEL_NAME = "llmspell"
# The gateway's token (EG_AUTH_TOKEN on its side), read from the environment so that it never
# appears in a command line; the second name is the one jupyter_server's own gateway client reads.
TOKEN_VARIABLES = ("LLMSPELL_GATEWAY_TOKEN", "JUPYTER_GATEWAY_AUTH_TOKEN")
_QUERY_KEYS = ("kernel", "kernel_id", "keep")


def is_gateway_address(text: str) -> bool:
    """True for a `gateway://` or `gateways://` connection string."""
    scheme, sep, _rest = text.strip().partition("://")
    return bool(sep) and scheme.lower() in SCHEMES


@dataclass(frozen=True)
class GatewayAddress:
    """Where a gateway listens, which kernelspec to start (or which kernel to join) and whether
    the kernel outlives this client."""

    http_url: str  # the gateway's base URL, no trailing slash: http://host:port/base
    ws_url: str  # the same for websockets: ws://host:port/base
    kernel_name: str = DEFAULT_KERNEL_NAME
    kernel_id: str | None = None  # join this running kernel instead of starting one
    keep: bool = False  # leave a started kernel running when the client closes
    token: str | None = None

    @property
    def display(self) -> str:
        """The gateway as the user named it, without the query."""
        scheme = "gateways" if self.http_url.startswith("https:") else "gateway"
        return f"{scheme}://{self.http_url.split('://', 1)[1]}"

    @property
    def owns_kernel(self) -> bool:
        """Whether closing the client shuts the kernel down (it was started for this client)."""
        return self.kernel_id is None and not self.keep


def parse_gateway_address(text: str) -> GatewayAddress:
    """Parse a `gateway://` connection string; UsageError naming what is wrong."""
    parts = urllib.parse.urlsplit(text.strip())
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UsageError(
            f"bad gateway address '{text}': it must start with gateway:// or gateways://"
        )
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"bad gateway address '{text}': port must be a number 1..65535") from None
    if not parts.hostname:
        raise UsageError(f"bad gateway address '{text}': no host (gateway://HOST:PORT)")
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - set(_QUERY_KEYS))
    if unknown:
        raise UsageError(
            f"bad gateway address '{text}': unknown parameter '{unknown[0]}' "
            f"(known: {', '.join(_QUERY_KEYS)})"
        )
    kernel_name = _single(query, "kernel", text) or DEFAULT_KERNEL_NAME
    kernel_id = _single(query, "kernel_id", text) or None
    keep_text = (_single(query, "keep", text) or "0").lower()
    if keep_text not in ("0", "1", "true", "false", "yes", "no"):
        raise UsageError(f"bad gateway address '{text}': keep must be 1 or 0")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host if port is None else f"{host}:{port}"
    base = parts.path.rstrip("/")
    http_scheme, ws_scheme = SCHEMES[scheme]
    token = next((os.environ[name] for name in TOKEN_VARIABLES if os.environ.get(name)), None)
    return GatewayAddress(
        http_url=f"{http_scheme}://{netloc}{base}",
        ws_url=f"{ws_scheme}://{netloc}{base}",
        kernel_name=kernel_name,
        kernel_id=kernel_id,
        keep=keep_text in ("1", "true", "yes"),
        token=token,
    )


def _single(query: dict[str, list[str]], key: str, text: str) -> str | None:
    values = query.get(key)
    if not values:
        return None
    if len(values) > 1:
        raise UsageError(f"bad gateway address '{text}': '{key}' is given twice")
    return values[0]
