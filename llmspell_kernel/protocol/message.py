"""Jupyter 5.3 message dicts: `header`, `parent_header`, `metadata`, `content`, `buffers`."""

from __future__ import annotations

import itertools
import os
import time

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Message = dict[str, Any]
else:
    Message = dict

PROTOCOL_VERSION = "5.3"

# The input_reply value that means end of input (jupyter_console sends it for Ctrl-D and
# ipykernel reads it as EOF); see Kernel._read_input for llmspell's raw replies.
END_OF_INPUT = "\x04"


def utc_now_iso() -> str:
    """ISO 8601 timestamp with timezone, as Jupyter headers carry (`datetime.now(UTC)
    .isoformat()` with microseconds always shown, without importing datetime)."""
    seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    prefix = _second_prefix
    if prefix[0] != seconds:
        prefix = _set_second_prefix(seconds)
    return f"{prefix[1]}.{nanoseconds // 1000:06d}+00:00"


def _set_second_prefix(seconds: int) -> tuple[int, str]:
    global _second_prefix
    _second_prefix = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    return _second_prefix


_second_prefix: tuple[int, str] = (-1, "")


class MessageFactory:
    """Builds messages for one protocol session (one client or one kernel)."""

    def __init__(self, session_id: str | None = None, username: str | None = None) -> None:
        self.session_id = session_id or os.urandom(16).hex()
        self.username = username or os.environ.get("USER", "llmspell")
        self._counter = itertools.count()
        self._prefix = f"{self.session_id[:12]}_{os.getpid()}_"

    def header(self, msg_type: str) -> dict[str, Any]:
        """A fresh header for `msg_type`."""
        return {
            "msg_id": f"{self._prefix}{next(self._counter)}",
            "msg_type": msg_type,
            "username": self.username,
            "session": self.session_id,
            "date": utc_now_iso(),
            "version": PROTOCOL_VERSION,
        }

    def message(
        self,
        msg_type: str,
        content: dict[str, Any] | None = None,
        parent: Message | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        """A complete message; `parent` is the message this one answers or belongs to."""
        header = self.header(msg_type)
        return {
            "header": header,
            "msg_id": header["msg_id"],
            "msg_type": msg_type,
            "parent_header": dict(parent["header"]) if parent else {},
            "metadata": metadata if metadata is not None else {},
            "content": content if content is not None else {},
            "buffers": [],
        }


def finish(msg: Message) -> Message:
    """Fill the convenience keys jupyter_client also provides (`msg_id`, `msg_type`)."""
    msg["msg_id"] = msg["header"].get("msg_id")
    msg["msg_type"] = msg["header"].get("msg_type")
    return msg


def reply_type(request_type: str) -> str:
    """`execute_request` → `execute_reply`."""
    return request_type.removesuffix("_request") + "_reply"
