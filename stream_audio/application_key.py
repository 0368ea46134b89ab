"""The new application's private key: checked to be an RSA key that signs for the application, then
saved where only its owner can read it, never over another file."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

_PROBE = b"a Voice API request, signed RS256"


class UnusableKey(ValueError):
    """Why the keys in Vonage's answer cannot sign for the application, as a sentence."""


def checked_private_key(private_pem: object, public_pem: object) -> bytes:
    """`private_pem` as a PEM file of its own making, if it is an RSA private key that can sign
    RS256 (as the Voice API's JWTs are) and, when `public_pem` is not None, the private half of
    that public key; UnusableKey otherwise."""
    key = _private_key(private_pem)
    public_key = key.public_key() if public_pem is None else _public_key(public_pem)
    try:
        public_key.verify(
            key.sign(_PROBE, padding.PKCS1v15(), hashes.SHA256()), _PROBE, padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature:
        raise UnusableKey(
            "The private key in Vonage's answer does not belong to the application's public key in it."
        ) from None
    # Written out again rather than as it came, so the file holds only the key that was checked.
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def save_private_key(path: Path, pem: bytes) -> None:
    """Write `pem` to a new file only its owner can read; never over an existing one."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as key_file:
            os.fchmod(key_file.fileno(), 0o600)  # whatever the umask
            key_file.write(pem)
    except OSError:
        path.unlink(missing_ok=True)  # a partly written key must not pass for a usable one
        raise


def _private_key(pem: object) -> RSAPrivateKey:
    if not isinstance(pem, str) or not pem:
        raise UnusableKey("Vonage's answer carried no private key.")
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    # cryptography's errors differ by what is wrong (not PEM, encrypted, an unknown kind of key,
    # text that is not even UTF-8): each means the same here.
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise UnusableKey("The private key in Vonage's answer is not an unencrypted PEM private key.") from None
    if not isinstance(key, RSAPrivateKey):
        raise UnusableKey("The private key in Vonage's answer is not an RSA key, and the Voice API takes RS256 alone.")
    return key


def _public_key(pem: object) -> RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode()) if isinstance(pem, str) else None
    except (ValueError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, RSAPublicKey):
        raise UnusableKey("The application's public key in Vonage's answer is not a PEM RSA public key.")
    return key
