"""The HTTP side shared by both wire formats: one httpx2 AsyncClient per endpoint, created on
the I/O loop; retries with exponential backoff and jitter honouring Retry-After; a concurrency
limit per provider; SSE; and the one-line errors of issue 13."""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx2 as httpx

from llmspell_kernel.io import io_runtime
from llmspell_kernel.providers.resolve import Endpoint
from llmspell_kernel.providers.types import ProviderError

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
BACKOFF_BASE = 0.5  # seconds; doubled per attempt, with full jitter
BACKOFF_CAP = 20.0
RETRY_AFTER_CAP = 60.0


class HttpEndpoint:
    """An endpoint's client and limits; lives on the I/O loop only."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        timeout = httpx.Timeout(endpoint.timeout_seconds, connect=endpoint.connect_timeout_seconds)
        self.client = httpx.AsyncClient(
            timeout=timeout, http2=endpoint.http2, transport=_transport(endpoint.http2)
        )
        self.limit = asyncio.Semaphore(endpoint.max_concurrency)
        io_runtime().on_shutdown(self.client.aclose)

    def where(self) -> str:
        return f"provider '{self.endpoint.name}' (model '{self.endpoint.model}')"

    async def post_json(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        """POST and return the decoded JSON body, retrying what is worth retrying."""

        async def once() -> Any:
            response = await self.client.post(self._url(path), json=body, headers=headers)
            if response.status_code >= 400:
                await response.aread()
                raise self.http_error(response)
            try:
                return response.json()
            except ValueError as exc:
                raise ProviderError(
                    f"{self.where()}: malformed response (invalid JSON): {_short(response.text)}"
                ) from exc

        async with self.limit:
            return await self.with_retries(once)

    async def stream_events(
        self, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> AsyncIterator[tuple[str, Any]]:
        """POST and yield the (event, decoded data) pairs of a server-sent-event reply.

        Retries happen only before the first event: a reply cut off later raises.
        """
        async with self.limit:
            attempt = 0
            while True:
                events = 0
                try:
                    async with self.client.stream(
                        "POST", self._url(path), json=body, headers=headers
                    ) as response:
                        if response.status_code >= 400:
                            await response.aread()
                            raise self.http_error(response)
                        async for event, data in _sse(response, self.where()):
                            events += 1
                            yield event, data
                    return
                except (ProviderError, httpx.TransportError) as exc:
                    error = self._as_error(exc, events)
                    if events or not error.retryable or attempt >= self.endpoint.max_retries:
                        raise self._final(error, attempt) from None
                    await asyncio.sleep(self._delay(exc, attempt))
                    attempt += 1

    async def with_retries(self, once: Callable[[], Awaitable[Any]]) -> Any:
        attempt = 0
        while True:
            try:
                return await once()
            except (ProviderError, httpx.TransportError) as exc:
                error = self._as_error(exc, 0)
                if not error.retryable or attempt >= self.endpoint.max_retries:
                    raise self._final(error, attempt) from None
                await asyncio.sleep(self._delay(exc, attempt))
                attempt += 1

    def _url(self, path: str) -> str:
        return self.endpoint.base_url + path

    def _as_error(self, exc: Exception, events: int) -> ProviderError:
        if isinstance(exc, ProviderError):
            return exc
        where = self.where()
        if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
            return ProviderError(
                f"{where}: cannot connect to {self.endpoint.base_url} ({_cause(exc)})",
                retryable=True,
            )
        if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout | httpx.PoolTimeout):
            return ProviderError(
                f"{where}: no response within {self.endpoint.timeout_seconds:g} s "
                "(timeout_seconds)",
                retryable=events == 0,
            )
        if events:
            return ProviderError(f"{where}: connection closed mid-stream ({_cause(exc)})")
        return ProviderError(
            f"{where}: connection to {self.endpoint.base_url} failed ({_cause(exc)})",
            retryable=True,
        )

    def _final(self, error: ProviderError, attempt: int) -> ProviderError:
        if error.status == 429:
            return ProviderError(
                f"{self.where()}: rate limited after {attempt} retries (HTTP 429)", status=429
            )
        if attempt and error.retryable:
            return ProviderError(f"{error.message} after {attempt} retries", status=error.status)
        return error

    def _delay(self, exc: Exception, attempt: int) -> float:
        retry_after = exc.retry_after if isinstance(exc, ProviderError) else None
        if retry_after is not None:
            return min(max(retry_after, 0.0), RETRY_AFTER_CAP)
        return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))

    def http_error(self, response: httpx.Response) -> ProviderError:
        """The error of an HTTP status, in the issue's words."""
        status = response.status_code
        endpoint = self.endpoint
        detail = _error_detail(response)
        if status in (401, 403):
            error = ProviderError(
                f"authentication failed for provider '{endpoint.name}' (HTTP {status}): "
                f"check {endpoint.key_hint.split(' or ')[0]} or "
                f"'llmspell keys add {endpoint.name}'",
                status=status,
            )
        elif status == 404:
            error = ProviderError(
                f"model '{endpoint.model}' not found at {endpoint.base_url}", status=status
            )
        elif status >= 500:
            error = ProviderError(
                f"{self.where()}: server error (HTTP {status}){detail}",
                status=status,
                retryable=status in RETRY_STATUSES,
            )
        else:
            error = ProviderError(
                f"{self.where()}: request refused (HTTP {status}){detail}",
                status=status,
                retryable=status in RETRY_STATUSES,
            )
        error.retry_after = _retry_after(response)
        return error


def _transport(http2: bool) -> httpx.AsyncHTTPTransport | None:
    """httpx2's own transport over the I/O loop's asyncio connections (llmspell_kernel/io/net.py:
    about a quarter less time per request than over its anyio streams), unless proxy variables
    are set: a client given a transport ignores them, so a proxied one keeps httpx2's default."""
    from urllib.request import getproxies

    if getproxies():
        return None
    from llmspell_kernel.io.net import LoopTransport

    return LoopTransport(http2=http2)


async def _sse(response: httpx.Response, where: str) -> AsyncIterator[tuple[str, Any]]:
    """Server-sent events: (event name or "message", JSON data); stops at `[DONE]`."""
    event, data = "message", list[str]()
    async for line in response.aiter_lines():
        if not line:
            if data:
                text = "\n".join(data)
                if text.strip() == "[DONE]":
                    return
                try:
                    yield event, json.loads(text)
                except ValueError:
                    raise ProviderError(
                        f"{where}: malformed stream event (invalid JSON): {_short(text)}"
                    ) from None
            event, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
    if data and "\n".join(data).strip() != "[DONE]":
        raise ProviderError(f"{where}: connection closed mid-stream")


def _retry_after(response: httpx.Response) -> float | None:
    headers = response.headers
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return float(milliseconds) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return when.timestamp() - time.time() if when else None


def _error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return f": {_short(text)}" if text else ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return f": {_short(str(error['message']))}"
    if isinstance(error, str):
        return f": {_short(error)}"
    return ""


def _cause(exc: Exception) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
