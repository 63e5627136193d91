"""DAP `attach` to a running kernel: the adapter relays the editor's requests as the kernel's
`debug_request` messages and the kernel's `debug_event` messages (and its output) back as DAP
events. Whatever runs in that kernel (a REPL, `llmspell run --connect`, a notebook) stops at
the editor's breakpoints.
"""

from __future__ import annotations

import threading
from typing import Any

from llmspell_kernel.transport.base import IOPUB

_PUMP = "llmspell-dap-bridge"  # a msg_id no reply carries: the pump only relays IOPub


class KernelBridge:
    """One DAP session relayed to a kernel reached by connection string."""

    def __init__(self, connection: Any, address: str) -> None:
        from llmspell_kernel.errors import KernelConnectionError
        from llmspell_kernel.service import connect_to_kernel, connection_info

        self.connection = connection
        self.address = address
        # Only through a connection file this user can read, and only to a kernel that signs
        # its messages: the adapter never talks to a kernel whose key it does not hold.
        info = connection_info(address)
        if not info.key:
            raise KernelConnectionError(
                "the kernel's connection file has no key (unsigned kernels cannot be attached)"
            )
        self.client = connect_to_kernel(info)
        self.client.on_foreign = self._relay
        self._lock = threading.Lock()
        self._requesting = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="llmspell-dap-relay", daemon=True)

    def attach(self, adapter_id: str) -> None:
        """Start the kernel's debug session and relay its events from now on."""
        for command, arguments in (
            ("initialize", {"adapterID": adapter_id, "linesStartAt1": True}),
            ("attach", {}),
        ):
            with self._lock:
                response = self.client.debug_request(command, arguments)
            if not response.get("success", False):
                raise RuntimeError(str(response.get("message") or f"{command} failed"))
        self._thread.start()

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """The kernel's response to one DAP request, addressed to this editor's request."""
        command = str(message.get("command", ""))
        response = {
            "type": "response",
            "request_seq": message.get("seq", 0),
            "command": command,
            "success": False,
        }
        self._requesting.set()  # the pump steps aside (a Lock is not fair: it could starve us)
        try:
            with self._lock:
                reply = self.client.debug_request(command, message.get("arguments") or {})
        except Exception as exc:  # the kernel went away or did not answer in time
            response["message"] = f"the kernel did not answer '{command}': {exc}"
            return response
        finally:
            self._requesting.clear()
        response["success"] = bool(reply.get("success", False))
        if "body" in reply:
            response["body"] = reply["body"]
        if not response["success"]:
            # a kernel's error reply (not a DAP response) says why in evalue, if at all
            text = reply.get("message") or reply.get("evalue")
            response["message"] = str(text or f"the kernel refused '{command}'")
        elif reply.get("message"):
            response["message"] = reply["message"]
        return response

    def _pump(self) -> None:
        while not self._stop.is_set():
            if self._requesting.is_set():  # a request reads the client now (and relays too)
                self._stop.wait(0.005)
                continue
            with self._lock:
                try:
                    self.client._next_for(_PUMP, 0.05)
                except Exception:  # the kernel went away: the editor sees `terminated`
                    self.connection.event("terminated", {})
                    return

    def _relay(self, channel: str, msg: dict[str, Any]) -> None:
        if channel != IOPUB:
            return
        msg_type = msg["header"].get("msg_type")
        content = msg.get("content") or {}
        if msg_type == "debug_event":
            name = str(content.get("event", ""))
            if name and name != "initialized":  # the adapter sent its own after `initialize`
                self.connection.event(name, content.get("body") or {})
        elif msg_type == "stream":
            category = "stderr" if content.get("name") == "stderr" else "stdout"
            self.connection.event(
                "output", {"category": category, "output": str(content.get("text", ""))}
            )

    def close(self) -> None:
        """End the relay (the kernel keeps running)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)
        self.client.close()
