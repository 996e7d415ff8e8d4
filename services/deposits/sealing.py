"""Withdrawal destinations sealed at rest (AES-GCM), so a database dump shows no account numbers or e-mails.

Each kind of destination seals under its own purpose (the AEAD's associated
data), so a blob cannot be replayed as another kind of secret; the Japanese
account keeps the purpose it was first sealed with, so older rows still open.
"""

from __future__ import annotations

import json
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.deposits.domain import AccountType, BankAccount, Destination, IbanAccount, PayPalAccount, WithdrawalMethod

_PURPOSES = {
    WithdrawalMethod.JAPANESE_BANK: b"daiko.deposits.withdrawal.bank-account.v1",
    WithdrawalMethod.IBAN: b"daiko.deposits.withdrawal.iban-account.v1",
    WithdrawalMethod.PAYPAL: b"daiko.deposits.withdrawal.paypal-account.v1",
}


def _cipher(key_hex: str) -> AESGCM:
    key = bytes.fromhex(key_hex)
    if len(key) != 32:
        raise ValueError("bank_details_key must be 32 bytes (64 hex digits)")
    return AESGCM(key)


def seal(key_hex: str, destination: Destination) -> bytes:
    nonce = os.urandom(12)
    plain = json.dumps(destination.sealed_fields()).encode()
    return nonce + _cipher(key_hex).encrypt(nonce, plain, _PURPOSES[destination.method])


def unseal(key_hex: str, blob: bytes, method: WithdrawalMethod = WithdrawalMethod.JAPANESE_BANK) -> Destination:
    """For the payout itself (staff paying it out); never used to answer a customer's request."""
    fields = json.loads(_cipher(key_hex).decrypt(blob[:12], blob[12:], _PURPOSES[method]))
    if method is WithdrawalMethod.IBAN:
        return IbanAccount(iban=fields["iban"], bic=fields["bic"], holder_name=fields["holder_name"])
    if method is WithdrawalMethod.PAYPAL:
        return PayPalAccount(email=fields["email"])
    return BankAccount(
        bank_name=fields["bank_name"],
        branch=fields["branch"],
        account_type=AccountType(fields["account_type"]),
        account_number=fields["account_number"],
        holder_name=fields["holder_name"],
    )
