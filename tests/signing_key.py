"""One RSA key pair for the tests that sign (CloudFront URLs and cookies): made once per process."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def signing_key() -> tuple[Any, str]:
    """A 2048-bit RSA private key and its PEM text (what CloudFront's key settings take)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return key, pem
