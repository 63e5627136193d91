"""The connection information a remote kernel launcher sends to Enterprise Gateway's response
address, encrypted as the gateway's ResponseManager expects (payload version 1).

The format is the gateway's, not a choice of ours: a fresh AES-128 key encrypts the JSON
connection info (ECB mode with PKCS#7 padding, which the gateway decodes), the gateway's RSA
public key (base64 DER, sent to the launcher as `--public-key`) wraps that key with PKCS#1 v1.5,
and the whole is a base64 JSON document `{"version": 1, "key": ..., "conn_info": ...}`.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

PAYLOAD_VERSION = 1


def encrypt_connection_info(info: dict[str, Any], public_key: str) -> bytes:
    """The bytes to send to the response address for connection info `info`."""
    from cryptography.hazmat.primitives import padding, serialization
    from cryptography.hazmat.primitives.asymmetric import padding as asymmetric_padding
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    try:
        rsa_key = serialization.load_der_public_key(base64.b64decode(public_key, validate=True))
    except ValueError as exc:
        raise ValueError(f"the gateway's public key is not a base64 DER key: {exc}") from exc
    if not isinstance(rsa_key, RSAPublicKey):
        raise ValueError("the gateway's public key is not an RSA key")
    aes_key = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    plain = padder.update(json.dumps(info).encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(aes_key), modes.ECB()).encryptor()
    sealed = encryptor.update(plain) + encryptor.finalize()
    wrapped_key = rsa_key.encrypt(aes_key, asymmetric_padding.PKCS1v15())
    document = {
        "version": PAYLOAD_VERSION,
        "key": base64.b64encode(wrapped_key).decode("ascii"),
        "conn_info": base64.b64encode(sealed).decode("ascii"),
    }
    return base64.b64encode(json.dumps(document).encode("utf-8"))
