"""uuid_generator: UUIDs v1, v4, v5 and v7 in several formats, component ids, validation."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from llmspell_kernel.tools.base import Params, ToolError, ToolResponse

OPERATIONS = ("generate", "component_id", "deterministic", "custom", "validate")
FORMATS = ("standard", "hyphenated", "simple", "urn", "braced")
NAMESPACES = {
    "dns": uuid.NAMESPACE_DNS,
    "url": uuid.NAMESPACE_URL,
    "oid": uuid.NAMESPACE_OID,
    "x500": uuid.NAMESPACE_X500,
}


def run(params: Params, context: Any) -> ToolResponse:
    operation = params.choice("operation", OPERATIONS, "generate")
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
        body = uuid.uuid4().hex[:8] if short else str(uuid.uuid4())
        ident = f"{prefix}_{body}"
        return ToolResponse(
            result={"id": ident, "prefix": prefix, "short": short}, text=ident, operation=operation
        )
    if operation == "custom":
        parts = [p for p in (params.text("prefix"),) if p]
        if params.boolean("timestamp", True):
            parts.append(str(int(time.time() * 1000)))
        parts.append(uuid.uuid4().hex[:8] if short else str(uuid.uuid4()))
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
    value: uuid.UUID
    if version == "1":
        value = uuid.uuid1()
    elif version == "5":
        value = uuid.uuid5(
            _namespace(params.text("namespace", "dns")), params.text("name", required=True)
        )
    elif version == "7":
        value = _uuid7()
    else:
        value = uuid.uuid4()
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
    known = NAMESPACES.get(raw.lower())
    if known is not None:
        return known
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ToolError(
            f"parameter 'namespace' must be dns, url, oid, x500 or a UUID, got '{raw}'"
        ) from None


def _uuid7() -> uuid.UUID:
    """RFC 9562 version 7: 48-bit Unix milliseconds, then random bits."""
    millis = time.time_ns() // 1_000_000
    value = (millis & ((1 << 48) - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # variant
    return uuid.UUID(int=value)


def _format(value: uuid.UUID, form: str) -> str:
    if form == "simple":
        return value.hex
    if form == "urn":
        return value.urn
    if form == "braced":
        return "{" + str(value) + "}"
    return str(value)
