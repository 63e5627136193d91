"""PostgreSQL connection strings as people may see them: the password is never shown.

Both libpq forms are covered: URIs (`postgresql://user:secret@host/db?password=...`) and
key/value strings (`host=... password='se cret'`). Plain string work, so `config show` masks a
DSN without importing psycopg.
"""

from __future__ import annotations

import re

MASK = "***"

# `user:password@` in the authority part of a URI (the password ends at the last '@').
_URI_PASSWORD = re.compile(r"^(postgres(?:ql)?://[^:/@?#]*:)([^/?#]*)(@)", re.IGNORECASE)
# `password=...` as a URI query parameter.
_QUERY_PASSWORD = re.compile(r"([?&]password=)([^&#]*)", re.IGNORECASE)
# `password = value` of a key/value string: a quoted value (with \' escapes) or a bare word.
_KV_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def is_uri(dsn: str) -> bool:
    """Whether a DSN is in URI form (else libpq's key/value form)."""
    return dsn.lower().startswith(("postgresql://", "postgres://"))


def mask_dsn(dsn: str) -> str:
    """The DSN with its password (if any) replaced by `***`."""
    if is_uri(dsn):
        masked = _URI_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), dsn, count=1)
        return _QUERY_PASSWORD.sub(lambda m: m.group(1) + MASK, masked)
    return _KV_PASSWORD.sub(lambda m: m.group(1) + MASK, dsn)


def mask_secrets(text: str, dsn: str, password: str | None = None) -> str:
    """`text` (an error message, a log line) with the DSN and the password masked."""
    if dsn and dsn in text:
        text = text.replace(dsn, mask_dsn(dsn))
    if password and len(password) >= 3:
        text = text.replace(password, MASK)
    return text
