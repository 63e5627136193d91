"""`--connect gateway://HOST:PORT`: start a kernel through the gateway's REST API (or join one by
id), talk to it over its channels websocket, and shut it down through REST when done."""

from __future__ import annotations

import urllib.parse

from llmspell_kernel import logs
from llmspell_kernel.client import InputHandler, KernelClient
from llmspell_kernel.errors import KernelConnectionError
from llmspell_kernel.gateway.address import GatewayAddress, parse_gateway_address
from llmspell_kernel.gateway.rest import GatewayKernel, GatewayRest
from llmspell_kernel.protocol.message import MessageFactory
from llmspell_kernel.transport.websocket import WebSocketClientTransport

log = logs.get_logger("llmspell.gateway")


class GatewayClientTransport(WebSocketClientTransport):
    """The channels websocket of a gateway kernel, plus what the gateway's REST API adds: a
    liveness check for the client's heartbeat and, for a kernel started for this client, its
    shutdown on close."""

    def __init__(
        self,
        address: GatewayAddress,
        rest: GatewayRest,
        kernel: GatewayKernel,
        session_id: str,
        open_timeout: float,
    ) -> None:
        headers = {"Authorization": f"token {address.token}"} if address.token else {}
        query = urllib.parse.urlencode({"session_id": session_id})
        url = f"{address.ws_url}/api/kernels/{urllib.parse.quote(kernel.kernel_id)}/channels"
        super().__init__(
            f"{url}?{query}",
            headers=headers,
            # Short enough for the REPL's prompt: the gateway and the id's first group.
            describe=f"{address.display}#{kernel.kernel_id.split('-')[0]}",
            open_timeout=open_timeout,
        )
        self.address = address
        self.rest = rest
        self.kernel = kernel

    def heartbeat(self, timeout: float = 1.0) -> bool:
        """True while the gateway still has the kernel and it has not died or restarted since
        this client connected (the gateway's own heartbeat watches the kernel's sockets)."""
        if self.lost:
            return False
        try:
            found = self.rest.get_kernel(self.kernel.kernel_id, timeout)
        except KernelConnectionError:
            return False
        return found is not None and found.execution_state not in ("dead",)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release_kernel()

    def _release_kernel(self) -> None:
        kernel_id = self.kernel.kernel_id
        if self.address.owns_kernel:
            try:
                self.rest.shutdown_kernel(kernel_id)
            except KernelConnectionError as exc:
                log.warning("could not shut gateway kernel %s down: %s", kernel_id, exc.message)
        elif self.address.keep:
            log.warning(
                "gateway kernel %s left running (keep=1); join it with --connect "
                "'%s?kernel_id=%s', stop it with DELETE /api/kernels/%s",
                kernel_id,
                self.address.display,
                kernel_id,
                kernel_id,
            )


def connect_to_gateway(
    text: str,
    *,
    timeout: float,
    input_handler: InputHandler | None = None,
    wait_until_subscribed: bool = True,
) -> KernelClient:
    """A KernelClient on a kernel of the gateway named by `text` (`gateway://...`)."""
    from llmspell_kernel.transport.zmq import wait_until_ready

    address = parse_gateway_address(text)
    rest = GatewayRest(address)
    rest.check(timeout)
    if address.kernel_id:
        kernel = rest.get_kernel(address.kernel_id, timeout)
        if kernel is None:
            raise KernelConnectionError(
                f"the gateway at {address.display} has no kernel {address.kernel_id}",
                hint="it was shut down or culled; without kernel_id a new kernel is started",
            )
    else:
        kernel = rest.start_kernel(address.kernel_name)
        log.info("gateway %s started kernel %s", address.display, kernel.kernel_id)
    messages = MessageFactory()
    try:
        transport = GatewayClientTransport(
            address, rest, kernel, messages.session_id, open_timeout=max(timeout, 10.0)
        )
    except BaseException:
        if address.owns_kernel:
            rest.shutdown_kernel(kernel.kernel_id)
        raise
    client = KernelClient(transport, input_handler=input_handler, messages=messages)
    if not wait_until_subscribed:
        return client
    try:
        # The kernel has just started: give it the time a first kernel_info needs on a busy host.
        wait_until_ready(client, max(timeout, 10.0))
    except BaseException:
        transport.close()
        raise
    return client
