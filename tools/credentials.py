"""Throw-away credentials for one run: an application key pair and a TLS certificate authority."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class ThrowAwayCredentials:
    """An application key pair and a TLS certificate authority, made for one run."""

    private_key_path: Path
    private_pem: str
    public_pem: str
    ca_path: Path  # what a client trusts (REQUESTS_CA_BUNDLE)
    server_context: ssl.SSLContext  # the stand-in's certificate for 127.0.0.1, signed by that CA


def key_pair() -> tuple[str, str]:
    """A new RSA key pair as Vonage makes one for an application: (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def throwaway_credentials(folder: Path) -> ThrowAwayCredentials:
    private_pem, public_pem = key_pair()
    (folder / "private.key").touch(mode=0o600)  # readable by this user alone, as `make setup` saves one
    (folder / "private.key").write_text(private_pem)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    return ThrowAwayCredentials(folder / "private.key", private_pem, public_pem, folder / "ca.pem", server_context)
