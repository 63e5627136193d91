"""hash_calculator: md5, sha1, sha256, sha512 of text, hex bytes or a file; verify a hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from llmspell_kernel.tools.base import Params, ToolError, ToolResponse

ALGORITHMS = ("md5", "sha1", "sha256", "sha512")
_CHUNK = 1024 * 1024


def run(params: Params, context: Any) -> ToolResponse:
    operation = params.choice("operation", ("hash", "verify"), "hash")
    algorithm = params.choice("algorithm", ALGORITHMS, "sha256")
    form = params.choice("format", ("hex", "base64"), "hex")
    digest = _digest(params, context, algorithm)
    shown = digest.hex() if form == "hex" else base64.b64encode(digest).decode("ascii")
    if operation == "hash":
        return ToolResponse(
            result={"algorithm": algorithm, "hash": shown, "format": form},
            text=shown,
            operation="hash",
        )
    expected = params.text("expected_hash", required=True).strip()
    expected_form = params.choice("expected_format", ("hex", "base64"), form)
    actual = digest.hex() if expected_form == "hex" else base64.b64encode(digest).decode()
    if expected_form == "hex":
        verified = hmac.compare_digest(expected.lower(), actual)
    else:
        verified = hmac.compare_digest(expected, actual)
    return ToolResponse(
        result={
            "verified": verified,
            "algorithm": algorithm,
            "expected": expected,
            "actual": actual,
        },
        text="verified" if verified else "hash mismatch",
        operation="verify",
    )


def _digest(params: Params, context: Any, algorithm: str) -> bytes:
    hasher = hashlib.new(algorithm)
    path = params.text("file", aliases=("path",))
    if path is not None:
        resolved = context.path(path)
        with open(resolved, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                hasher.update(chunk)
        return hasher.digest()
    data = params.text("input", aliases=("data",))
    if data is None:
        raise ToolError("missing required parameter 'input' (or 'file')")
    kind = params.choice("input_type", ("text", "string", "hex"), "text")
    if kind == "hex":
        try:
            hasher.update(bytes.fromhex(data))
        except ValueError:
            raise ToolError("parameter 'input' is not valid hex") from None
    else:
        hasher.update(data.encode("utf-8"))
    return hasher.digest()
