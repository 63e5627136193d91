"""The few REST calls of the Jupyter server API a gateway client needs: start, look up and shut
down a kernel (`/api/kernels`). The standard library's urllib is enough for four requests."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from llmspell_kernel.errors import KernelConnectionError
from llmspell_kernel.gateway.address import GatewayAddress

# Starting a kernel waits for the gateway's launch (EG_KERNEL_LAUNCH_TIMEOUT is 30 s by default).
START_TIMEOUT = 90.0


@dataclass(frozen=True)
class GatewayKernel:
    """A kernel as the gateway describes it."""

    kernel_id: str
    name: str
    execution_state: str


class GatewayRest:
    """REST requests to one gateway, with its token."""

    def __init__(self, address: GatewayAddress) -> None:
        self.address = address

    def _request(
        self, method: str, path: str, timeout: float, body: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        headers = {"Accept": "application/json"}
        if self.address.token:
            headers["Authorization"] = f"token {self.address.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            self.address.http_url + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            return exc.code, _json_or_text(exc.read())
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise KernelConnectionError(
                f"no gateway answered at {self.address.display}: {reason}",
                hint="is Enterprise Gateway running there? (jupyter enterprisegateway --port PORT)",
            ) from exc
        return status, _json_or_text(raw)

    def check(self, timeout: float) -> None:
        """Fail fast (KernelConnectionError) unless a Jupyter server answers `GET /api`."""
        status, body = self._request("GET", "/api", timeout)
        if status in (401, 403):
            raise KernelConnectionError(
                f"the gateway at {self.address.display} refused the request ({status})",
                hint="set LLMSPELL_GATEWAY_TOKEN to the gateway's token (EG_AUTH_TOKEN)",
            )
        if status != 200 or not isinstance(body, dict) or "version" not in body:
            raise KernelConnectionError(
                f"{self.address.display} is not a Jupyter gateway (GET /api answered {status})"
            )

    def start_kernel(self, name: str) -> GatewayKernel:
        """`POST /api/kernels`: the gateway launches a kernel of kernelspec `name`."""
        request = {"name": name, "env": kernel_environment()}
        status, body = self._request("POST", "/api/kernels", START_TIMEOUT, request)
        if status not in (200, 201) or not isinstance(body, dict) or "id" not in body:
            known = self.kernelspec_names()
            if known is not None and name not in known:
                raise KernelConnectionError(
                    f"the gateway at {self.address.display} has no kernelspec '{name}' "
                    f"(it has: {', '.join(sorted(known)) or 'none'})",
                    hint="`llmspell kernel install --gateway local --prefix P` writes one; start "
                    "the gateway with JUPYTER_PATH=P/share/jupyter (?kernel=NAME picks another)",
                )
            hint = (
                "the gateway decides who may start kernels (EG_AUTHORIZED_USERS, "
                "EG_UNAUTHORIZED_USERS, root by default); KERNEL_USERNAME names you"
                if status == 403
                else "`llmspell kernel install --gateway local` installs the llmspell kernelspec "
                "where the gateway looks (its JUPYTER_PATH); ?kernel=NAME picks another"
            )
            raise KernelConnectionError(
                f"the gateway at {self.address.display} could not start a '{name}' kernel "
                f"({status}): {_reason(body)}",
                hint=hint,
            )
        return _kernel(body)

    def kernelspec_names(self, timeout: float = 10.0) -> set[str] | None:
        """The kernelspecs the gateway offers (`GET /api/kernelspecs`); None if it won't say."""
        try:
            status, body = self._request("GET", "/api/kernelspecs", timeout)
        except KernelConnectionError:
            return None
        specs = body.get("kernelspecs") if isinstance(body, dict) else None
        return set(specs) if status == 200 and isinstance(specs, dict) else None

    def get_kernel(self, kernel_id: str, timeout: float) -> GatewayKernel | None:
        """`GET /api/kernels/ID`; None when the gateway no longer has it."""
        status, body = self._request("GET", f"/api/kernels/{_quote(kernel_id)}", timeout)
        if status == 404:
            return None
        if status != 200 or not isinstance(body, dict):
            raise KernelConnectionError(
                f"the gateway at {self.address.display} answered {status} for kernel "
                f"{kernel_id}: {_reason(body)}"
            )
        return _kernel(body)

    def shutdown_kernel(self, kernel_id: str, timeout: float = 30.0) -> bool:
        """`DELETE /api/kernels/ID`; False when the gateway had no such kernel."""
        status, body = self._request("DELETE", f"/api/kernels/{_quote(kernel_id)}", timeout)
        if status == 404:
            return False
        if status not in (200, 204):
            raise KernelConnectionError(
                f"the gateway at {self.address.display} could not shut kernel {kernel_id} down "
                f"({status}): {_reason(body)}"
            )
        return True


def kernel_environment() -> dict[str, str]:
    """What the gateway is told about the kernel to start, as jupyter_server's own gateway
    client tells it: every KERNEL_* variable of this environment (KERNEL_LAUNCH_TIMEOUT,
    KERNEL_NAMESPACE, KERNEL_REMOTE_HOST...) and KERNEL_USERNAME, this user by default."""
    import getpass

    env = {name: value for name, value in os.environ.items() if name.startswith("KERNEL_")}
    if not env.get("KERNEL_USERNAME"):
        try:
            env["KERNEL_USERNAME"] = getpass.getuser()
        except (KeyError, OSError):
            pass
    return env


def _quote(kernel_id: str) -> str:
    return urllib.parse.quote(kernel_id, safe="")


def _kernel(body: dict[str, Any]) -> GatewayKernel:
    return GatewayKernel(
        kernel_id=str(body["id"]),
        name=str(body.get("name", "")),
        execution_state=str(body.get("execution_state", "")),
    )


def _json_or_text(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def _reason(body: Any) -> str:
    """The one line a Jupyter server puts in an error body (`message`, else `reason`)."""
    if isinstance(body, dict):
        text = str(body.get("message") or body.get("reason") or body)
    else:
        text = str(body or "no details")
    return text.strip().splitlines()[0] if text.strip() else "no details"
