"""uuid_generator: UUIDs v1, v4, v5 and v7 in several formats, component ids, validation.

The random versions (v4, v7: 122 or 74 random bits from os.urandom with the version and variant
bits set, as uuid.uuid4 does) are made here; the uuid module, whose import loads `platform` and
costs ~3 ms of this tool's first call, is imported for v1, v5 and validation only."""

from __future__ import annotations

import os
import time

from llmspell_kernel.tools.base import Params, ToolError, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    import uuid
    from typing import Any

OPERATIONS = ("generate", "component_id", "deterministic", "custom", "validate")
FORMATS = ("standard", "hyphenated", "simple", "urn", "braced")


class _Random:
    """A v4 or v7 UUID with what this tool reads of uuid.UUID: hex, str() and urn."""

    __slots__ = ("hex",)

    def __init__(self, value: int) -> None:
        self.hex = f"{value:032x}"

    def __str__(self) -> str:
        h = self.hex
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    @property
    def urn(self) -> str:
        return "urn:uuid:" + str(self)


def _uuid4() -> _Random:
    value = int.from_bytes(os.urandom(16), "big")
    return _Random((value & ~(0xF << 76) & ~(0x3 << 62)) | (0x4 << 76) | (0x2 << 62))


def run(params: Params, context: Any) -> ToolResponse:
    operation = params.choice("operation", OPERATIONS, "generate")
    if operation in ("validate", "deterministic"):
        import uuid
    if operation == "validate":
        raw = params.text("uuid", required=True, aliases=("input",))
        try:
            parsed = uuid.UUID(raw.strip())
        except ValueError:
            return ToolResponse(
                result={"valid": False, "version": None}, text="false", operation=operation
            )
        return ToolResponse(
            result={"valid": True, "version": parsed.version}, text="true", operation=operation
        )
    if operation == "deterministic":
        namespace = _namespace(params.text("namespace", "dns"))
        name = params.text("name", required=True)
        ident = str(uuid.uuid5(namespace, name))
        return ToolResponse(
            result={"id": ident, "uuid": ident, "namespace": str(namespace), "name": name},
            text=ident,
            operation=operation,
        )
    short = params.boolean("short")
    if operation == "component_id":
        prefix = params.text("prefix", "component")
        body = _uuid4().hex[:8] if short else str(_uuid4())
        ident = f"{prefix}_{body}"
        return ToolResponse(
            result={"id": ident, "prefix": prefix, "short": short}, text=ident, operation=operation
        )
    if operation == "custom":
        parts = [p for p in (params.text("prefix"),) if p]
        if params.boolean("timestamp", True):
            parts.append(str(int(time.time() * 1000)))
        parts.append(_uuid4().hex[:8] if short else str(_uuid4()))
        suffix = params.text("suffix")
        if suffix:
            parts.append(suffix)
        ident = "_".join(parts)
        return ToolResponse(
            result={"id": ident, "timestamp": params.boolean("timestamp", True), "short": short},
            text=ident,
            operation=operation,
        )
    version = params.choice("version", ("v1", "v4", "v5", "v7", "1", "4", "5", "7"), "v4")
    version = version.lstrip("v")
    value: uuid.UUID | _Random
    if version == "1":
        import uuid

        value = uuid.uuid1()
    elif version == "5":
        import uuid

        value = uuid.uuid5(
            _namespace(params.text("namespace", "dns")), params.text("name", required=True)
        )
    elif version == "7":
        value = _uuid7()
    else:
        value = _uuid4()
    form = params.choice("format", FORMATS, "hyphenated")
    shown = _format(value, form)
    if short:
        shown = value.hex[:8]
    return ToolResponse(
        result={"uuid": shown, "version": f"v{version}", "format": form},
        text=shown,
        operation=operation,
    )


def _namespace(raw: str) -> uuid.UUID:
    import uuid

    known = {
        "dns": uuid.NAMESPACE_DNS,
        "url": uuid.NAMESPACE_URL,
        "oid": uuid.NAMESPACE_OID,
        "x500": uuid.NAMESPACE_X500,
    }.get(raw.lower())
    if known is not None:
        return known
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ToolError(
            f"parameter 'namespace' must be dns, url, oid, x500 or a UUID, got '{raw}'"
        ) from None


def _uuid7() -> _Random:
    """RFC 9562 version 7: 48-bit Unix milliseconds, then random bits."""
    millis = time.time_ns() // 1_000_000
    value = (millis & ((1 << 48) - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # variant
    return _Random(value)


def _format(value: uuid.UUID | _Random, form: str) -> str:
    if form == "simple":
        return value.hex
    if form == "urn":
        return value.urn
    if form == "braced":
        return "{" + str(value) + "}"
    return str(value)
