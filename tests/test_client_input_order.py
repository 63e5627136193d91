"""A relay between client and kernel may deliver a channel's messages out of step with another's
(Enterprise Gateway multiplexes IOPub and stdin on one websocket): an input_request must not
be answered before the output the script printed ahead of it is shown."""

from __future__ import annotations

from llmspell_kernel.api import start_embedded_kernel
from llmspell_kernel.client import KernelClient, Stream
from llmspell_kernel.kernel.server import KernelSettings
from llmspell_kernel.transport.base import IOPUB, STDIN, ClientTransport


class StdinFirstRelay(ClientTransport):
    """Delivers every input_request ahead of the stream messages that went just before it."""

    def __init__(self, inner: ClientTransport) -> None:
        self.inner = inner
        self.held: list[tuple[str, dict]] = []
        self.ready: list[tuple[str, dict]] = []

    def send(self, channel: str, msg: dict) -> None:
        self.inner.send(channel, msg)

    def recv(self, timeout: float | None) -> tuple[str, dict] | None:
        while not self.ready:
            item = self.inner.recv(timeout)
            if item is None:
                if self.held:  # nothing more for now: release what was held
                    self.ready, self.held = self.held, []
                    break
                return None
            channel, msg = item
            if channel == IOPUB and msg["header"]["msg_type"] == "stream":
                self.held.append(item)
            elif channel == STDIN:
                self.ready, self.held = [item, *self.held], []
            else:
                self.ready, self.held = [*self.held, item], []
        return self.ready.pop(0)

    def close(self) -> None:
        self.inner.close()


def test_an_input_request_waits_for_the_output_printed_before_it():
    seen: list[str] = []

    def answer(prompt: str, password: bool) -> str:
        seen.append("input")
        return "Ada"

    with start_embedded_kernel(KernelSettings()) as kernel:
        relay = StdinFirstRelay(kernel.transport.connect())
        client = KernelClient(relay, input_handler=answer)
        code = 'print("waiting for a name") local name = io.read("l") print("hello " .. name)'
        for output in client.execute(code, allow_stdin=True):
            if isinstance(output, Stream):
                seen.append(output.text)
    assert seen == ["waiting for a name\n", "input", "hello Ada\n"]
