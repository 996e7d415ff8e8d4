"""Ed25519 signatures of the ledger's statements (``contracts.attestation``).

The deposits service holds the private key (a 32-byte seed as hex, a secret);
whoever must believe a money fact holds the public keys (several, so a key can
be rotated without stopping orders that wait for an answer signed by the old
one). Signatures travel as URL-safe base64 without padding.
"""

from __future__ import annotations

import base64
import binascii
import functools

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


@functools.lru_cache(maxsize=8)
def _private(seed_hex: str) -> Ed25519PrivateKey:
    """Loaded once per seed: the ledger signs every charge answer with the same key."""
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))


def public_key_of(seed_hex: str) -> str:
    """The public key (hex) that verifies what this seed signs."""
    return _private(seed_hex).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def sign(seed_hex: str, statement: bytes) -> str:
    return base64.urlsafe_b64encode(_private(seed_hex).sign(statement)).rstrip(b"=").decode()


def verify(public_keys_hex: list[str], statement: bytes, signature: str) -> bool:
    """True if any of the keys verifies the signature; a malformed key or signature is simply False."""
    try:
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (binascii.Error, ValueError):
        return False
    for key_hex in public_keys_hex:
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex)).verify(raw, statement)
            return True
        except (InvalidSignature, ValueError):
            continue
    return False
