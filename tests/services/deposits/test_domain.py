"""Deposit rules around the ledger (pure): pay-in report and withdrawal decisions, bank accounts, webhooks."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.deposits import ChargeRequested
from contracts.keys import ChargeKey
from services.deposits import domain
from services.deposits.domain import (
    BankAccount,
    Decision,
    NoteRequired,
    ReportAlreadyConfirmed,
    ReportAlreadyRejected,
    ReportStatus,
    WithdrawalAlreadyPaid,
    WithdrawalAlreadyRejected,
    WithdrawalStatus,
)
from services.deposits.paypal.client import parse_yen, verification_request, webhook_is_fresh
from services.deposits.paypal_sandbox.signing import sign_delivery, vouches_for
from services.deposits.sealing import seal, unseal

KEY = "00" * 32


# --- pay-in reports (R9: credited when staff confirm) --------------------------------------------


def test_confirming_a_pending_report_credits_the_reported_amount_by_default() -> None:
    c = domain.confirm_pay_in_report(ReportStatus.PENDING, reported=10000, credited=None, amount=None, note=None)
    assert (c.decision, c.amount) == (Decision.APPLY, 10000)


def test_crediting_a_different_amount_than_reported_needs_a_note() -> None:
    with pytest.raises(NoteRequired):
        domain.confirm_pay_in_report(ReportStatus.PENDING, reported=10000, credited=None, amount=9560, note=" ")
    c = domain.confirm_pay_in_report(
        ReportStatus.PENDING, reported=10000, credited=None, amount=9560, note="bank fee deducted"
    )
    assert (c.decision, c.amount) == (Decision.APPLY, 9560)


def test_confirming_twice_credits_once() -> None:
    c = domain.confirm_pay_in_report(ReportStatus.CONFIRMED, reported=10000, credited=9560, amount=None, note=None)
    assert (c.decision, c.amount) == (Decision.ALREADY_DONE, 9560)
    c = domain.confirm_pay_in_report(ReportStatus.CONFIRMED, reported=10000, credited=9560, amount=9560, note="x")
    assert c.decision is Decision.ALREADY_DONE


def test_confirming_again_with_another_amount_is_refused() -> None:
    with pytest.raises(ReportAlreadyConfirmed):
        domain.confirm_pay_in_report(ReportStatus.CONFIRMED, reported=10000, credited=10000, amount=5000, note="x")


def test_a_rejected_report_cannot_be_confirmed_and_a_confirmed_one_cannot_be_rejected() -> None:
    with pytest.raises(ReportAlreadyRejected):
        domain.confirm_pay_in_report(ReportStatus.REJECTED, reported=100, credited=None, amount=None, note=None)
    with pytest.raises(ReportAlreadyConfirmed):
        domain.reject_pay_in_report(ReportStatus.CONFIRMED)
    assert domain.reject_pay_in_report(ReportStatus.PENDING) is Decision.APPLY
    assert domain.reject_pay_in_report(ReportStatus.REJECTED) is Decision.ALREADY_DONE


# --- withdrawal requests ------------------------------------------------------------------------


def test_a_withdrawal_is_paid_or_rejected_once_and_never_both() -> None:
    assert domain.confirm_withdrawal(WithdrawalStatus.PENDING) is Decision.APPLY
    assert domain.confirm_withdrawal(WithdrawalStatus.PAID) is Decision.ALREADY_DONE
    assert domain.reject_withdrawal(WithdrawalStatus.PENDING) is Decision.APPLY
    assert domain.reject_withdrawal(WithdrawalStatus.REJECTED) is Decision.ALREADY_DONE
    with pytest.raises(WithdrawalAlreadyRejected):
        domain.confirm_withdrawal(WithdrawalStatus.REJECTED)
    with pytest.raises(WithdrawalAlreadyPaid):
        domain.reject_withdrawal(WithdrawalStatus.PAID)


def account(**overrides: str) -> BankAccount:
    fields = {
        "bank_name": "みずほ銀行",
        "branch": "001",
        "account_type": "ordinary",
        "account_number": "7654321",
        "holder_name": "スズキ ハナコ",
        **overrides,
    }
    return BankAccount.parse(**fields)


def test_a_bank_account_number_is_seven_digits_full_width_accepted() -> None:
    assert account(
        account_number="\uff17\uff16\uff15\uff14\uff13\uff12\uff11"
    )  # full-width digits.account_number == "7654321"
    for bad in ("123456", "12345678", "12a4567", "", "-------"):
        with pytest.raises(ValueError, match="7 digits"):
            account(account_number=bad)


@pytest.mark.parametrize("field", ["bank_name", "branch", "holder_name"])
def test_bank_names_must_not_be_blank_or_contain_control_characters(field: str) -> None:
    with pytest.raises(ValueError):
        account(**{field: "   "})
    with pytest.raises(ValueError):
        account(**{field: "abc\x00def"})


def test_an_unknown_account_type_is_refused() -> None:
    with pytest.raises(ValueError):
        account(account_type="bitcoin")


def test_a_bank_account_only_ever_shows_masked(caplog: pytest.LogCaptureFixture) -> None:
    a = account()
    assert a.masked()["account_number"] == "****4321"
    assert a.masked()["holder_name"] == "ス***"
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("paying out to %s / %r", a, a)
    assert "7654321" not in caplog.text and "スズキ ハナコ" not in caplog.text
    assert "7654321" not in repr(a) and "7654321" not in str(a)


def test_sealed_bank_details_hide_the_number_and_open_only_with_the_key() -> None:
    a = account()
    blob = seal(KEY, a)
    assert b"7654321" not in blob
    assert unseal(KEY, blob) == a
    with pytest.raises(Exception):  # noqa: B017 - any failure: the wrong key must not open it
        unseal("11" * 32, blob)


# --- commands and PayPal parsing ----------------------------------------------------------------


def test_a_charge_key_is_order_billing_and_revision() -> None:
    key = ChargeKey("ord-1", 2, 3)
    assert str(key) == "charge:ord-1:2:3"
    command = ChargeRequested(
        order_id="ord-1", customer_id="c", billing_seq=2, revision=3, amount=100, idempotency_key=key
    )
    assert command.to_data()["idempotency_key"] == "charge:ord-1:2:3"


@given(st.integers(min_value=0, max_value=10**12))
def test_whole_yen_amounts_round_trip_through_paypal_strings(amount: int) -> None:
    assert parse_yen(str(amount)) == amount


@pytest.mark.parametrize("value", ["12.5", "-1", "", "1e3", " 100", "\uff11\uff10\uff10"])
def test_a_paypal_amount_that_is_not_whole_yen_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        parse_yen(value)


def test_only_the_signer_vouches_for_a_webhook_and_a_stale_one_is_refused_before_asking() -> None:
    event = {"event_type": "PAYMENT.CAPTURE.COMPLETED", "resource": {"id": "CAP-1"}}
    headers = sign_delivery("paypals-own", "WH-1", "tx-1", event)
    assert webhook_is_fresh(headers, tolerance_seconds=300) is None
    assert vouches_for("paypals-own", "WH-1", verification_request(headers, event, "WH-1"))
    assert not vouches_for("guessed", "WH-1", verification_request(headers, event, "WH-1"))
    assert not vouches_for("paypals-own", "WH-other", verification_request(headers, event, "WH-other"))
    altered = {**event, "resource": {"id": "CAP-2"}}
    assert not vouches_for("paypals-own", "WH-1", verification_request(headers, altered, "WH-1"))
    assert webhook_is_fresh({}, tolerance_seconds=300) == "signature headers missing"
    old = sign_delivery("paypals-own", "WH-1", "tx-2", event, at=datetime.now(UTC) - timedelta(hours=1))
    assert webhook_is_fresh(old, tolerance_seconds=300) == "transmission time outside the accepted window"
