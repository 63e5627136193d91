"""hash_calculator: md5, sha1, sha256, sha512 of text, hex bytes or a file; verify a hash.

Text is hashed by the interpreter's own hash modules (_md5, _sha1, _sha2 or _sha256/_sha512, what
hashlib falls back to; the same digests): importing hashlib loads OpenSSL's libcrypto, ~3-4 ms of
this tool's first call. Files go through hashlib (OpenSSL is faster on large data), as does any
interpreter built without those modules."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

from llmspell_kernel.tools.base import Params, ToolError, ToolResponse

ALGORITHMS = ("md5", "sha1", "sha256", "sha512")
_CHUNK = 1024 * 1024
# algorithm -> (module, constructor) of CPython's built-in implementations, this version's
# layout first (3.12 merged _sha256 and _sha512 into _sha2; a failed import of the other
# searches every sys.path entry, ~0.2 ms).
_SHA2 = sys.version_info >= (3, 12)
_BUILTIN = {
    "md5": (("_md5", "md5"),),
    "sha1": (("_sha1", "sha1"),),
    "sha256": (("_sha2", "sha256"), ("_sha256", "sha256"))[:: 1 if _SHA2 else -1],
    "sha512": (("_sha2", "sha512"), ("_sha512", "sha512"))[:: 1 if _SHA2 else -1],
}


TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:  # a Protocol class costs ~0.06 ms to make at import
    from typing import Any, Protocol

    class _Hasher(Protocol):
        def update(self, data: bytes, /) -> None: ...
        def digest(self) -> bytes: ...


def run(params: Params, context: Any) -> ToolResponse:
    operation = params.choice("operation", ("hash", "verify"), "hash")
    algorithm = params.choice("algorithm", ALGORITHMS, "sha256")
    form = params.choice("format", ("hex", "base64"), "hex")
    digest = _digest(params, context, algorithm)
    shown = digest.hex() if form == "hex" else _b64(digest)
    if operation == "hash":
        return ToolResponse(
            result={"algorithm": algorithm, "hash": shown, "format": form},
            text=shown,
            operation="hash",
        )
    expected = params.text("expected_hash", required=True).strip()
    expected_form = params.choice("expected_format", ("hex", "base64"), form)
    actual = digest.hex() if expected_form == "hex" else _b64(digest)
    import hmac

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


def _b64(digest: bytes) -> str:
    import binascii

    return binascii.b2a_base64(digest, newline=False).decode("ascii")


_CONSTRUCTORS: dict[str, Callable[[], _Hasher] | None] = {}


def _builtin(algorithm: str) -> Callable[[], _Hasher] | None:
    """The built-in constructor of `algorithm` (looked up once), or None."""
    if algorithm in _CONSTRUCTORS:
        return _CONSTRUCTORS[algorithm]
    found = None
    for module, name in _BUILTIN[algorithm]:
        try:
            found = getattr(importlib.import_module(module), name)
            break
        except (ImportError, AttributeError):
            continue
    _CONSTRUCTORS[algorithm] = found
    return found


def _digest(params: Params, context: Any, algorithm: str) -> bytes:
    hasher: _Hasher
    path = params.text("file", aliases=("path",))
    if path is not None:
        import hashlib

        hasher = hashlib.new(algorithm)
        resolved = context.path(path)
        with open(resolved, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                hasher.update(chunk)
        return hasher.digest()
    data = params.text("input", aliases=("data",))
    if data is None:
        raise ToolError("missing required parameter 'input' (or 'file')")
    kind = params.choice("input_type", ("text", "string", "hex"), "text")
    constructor = _builtin(algorithm)
    if constructor is None:
        import hashlib

        hasher = hashlib.new(algorithm)
    else:
        hasher = constructor()
    if kind == "hex":
        try:
            hasher.update(bytes.fromhex(data))
        except ValueError:
            raise ToolError("parameter 'input' is not valid hex") from None
    else:
        hasher.update(data.encode("utf-8"))
    return hasher.digest()
