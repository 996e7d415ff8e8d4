"""Withdrawal bank accounts sealed at rest (AES-GCM), so a database dump shows no account numbers."""

from __future__ import annotations

import json
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.deposits.domain import AccountType, BankAccount

# Binds a sealed blob to its purpose: it cannot be replayed as another kind of secret.
_PURPOSE = b"daiko.deposits.withdrawal.bank-account.v1"


def _cipher(key_hex: str) -> AESGCM:
    key = bytes.fromhex(key_hex)
    if len(key) != 32:
        raise ValueError("bank_details_key must be 32 bytes (64 hex digits)")
    return AESGCM(key)


def seal(key_hex: str, account: BankAccount) -> bytes:
    nonce = os.urandom(12)
    plain = json.dumps(
        {
            "bank_name": account.bank_name,
            "branch": account.branch,
            "account_type": account.account_type.value,
            "account_number": account.account_number,
            "holder_name": account.holder_name,
        }
    ).encode()
    return nonce + _cipher(key_hex).encrypt(nonce, plain, _PURPOSE)


def unseal(key_hex: str, blob: bytes) -> BankAccount:
    """For the payout itself (staff tooling); never used to answer an API request."""
    fields = json.loads(_cipher(key_hex).decrypt(blob[:12], blob[12:], _PURPOSE))
    return BankAccount(
        bank_name=fields["bank_name"],
        branch=fields["branch"],
        account_type=AccountType(fields["account_type"]),
        account_number=fields["account_number"],
        holder_name=fields["holder_name"],
    )
