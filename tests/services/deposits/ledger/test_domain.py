"""The ledger's rules (pure): double entry, holds, idempotency, and no deposit below zero (R9)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from services.deposits.ledger.domain import (
    Balances,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAmount,
    Ledger,
    PendingAlreadyResolved,
    Phase,
    SameAccount,
    Transfer,
    apply,
    check_amount,
    fold,
    totals,
)

BANK, PAYOUTS, ALICE, ORDER = "agency:bank", "agency:payouts", "deposit:alice", "revenue:ord-1"


def funded(amount: int) -> Ledger:
    ledger = Ledger()
    for code, guarded in ((BANK, False), (PAYOUTS, False), (ALICE, True), (ORDER, True)):
        ledger.open(code, guarded=guarded)
    if amount:
        ledger.submit(Transfer("pay-in", BANK, ALICE, amount))
    return ledger


def test_a_pay_in_credits_the_deposit_and_debits_the_bank_clearing_account() -> None:
    ledger = funded(5000)
    assert ledger.accounts[ALICE].balance == 5000
    assert ledger.accounts[BANK].debits_posted == 5000
    assert totals(ledger.accounts.values()).balanced


def test_a_charge_over_the_available_balance_is_refused_with_the_shortfall() -> None:
    ledger = funded(1000)
    with pytest.raises(InsufficientFunds) as refused:
        ledger.submit(Transfer("charge", ALICE, ORDER, 1500))
    assert (refused.value.available, refused.value.requested, refused.value.shortfall) == (1000, 1500, 500)
    assert ledger.accounts[ALICE].balance == 1000 and len(ledger.transfers) == 1


def test_a_charge_of_exactly_the_available_balance_leaves_zero() -> None:
    ledger = funded(1000)
    ledger.submit(Transfer("charge", ALICE, ORDER, 1000))
    assert ledger.accounts[ALICE].available == 0


def test_a_hold_reduces_available_but_not_balance() -> None:
    ledger = funded(1000)
    ledger.submit(Transfer("hold", ALICE, PAYOUTS, 600, Phase.PENDING))
    alice = ledger.accounts[ALICE]
    assert (alice.balance, alice.held, alice.available) == (1000, 600, 400)
    with pytest.raises(InsufficientFunds):
        ledger.submit(Transfer("charge", ALICE, ORDER, 500))


def test_posting_a_hold_moves_the_money_and_voiding_releases_it() -> None:
    ledger = funded(1000)
    ledger.submit(Transfer("hold-1", ALICE, PAYOUTS, 300, Phase.PENDING))
    ledger.submit(Transfer("hold-2", ALICE, PAYOUTS, 200, Phase.PENDING))
    ledger.submit(Transfer("paid-1", ALICE, PAYOUTS, 300, Phase.POST_PENDING, pending_key="hold-1"))
    ledger.submit(Transfer("void-2", ALICE, PAYOUTS, 200, Phase.VOID_PENDING, pending_key="hold-2"))
    alice = ledger.accounts[ALICE]
    assert (alice.balance, alice.held, alice.available) == (700, 0, 700)
    assert ledger.accounts[PAYOUTS].credits_posted == 300


def test_a_hold_is_resolved_once() -> None:
    ledger = funded(1000)
    ledger.submit(Transfer("hold", ALICE, PAYOUTS, 300, Phase.PENDING))
    ledger.submit(Transfer("paid", ALICE, PAYOUTS, 300, Phase.POST_PENDING, pending_key="hold"))
    with pytest.raises(PendingAlreadyResolved):
        ledger.submit(Transfer("void", ALICE, PAYOUTS, 300, Phase.VOID_PENDING, pending_key="hold"))


def test_the_same_key_again_returns_the_original_transfer_and_changes_nothing() -> None:
    ledger = funded(1000)
    first = ledger.submit(Transfer("charge", ALICE, ORDER, 400))
    again = ledger.submit(Transfer("charge", ALICE, ORDER, 400))
    assert again.replayed and again.transfer == first.transfer
    assert ledger.accounts[ALICE].balance == 600


def test_the_same_key_for_a_different_transfer_is_a_conflict() -> None:
    ledger = funded(1000)
    ledger.submit(Transfer("charge", ALICE, ORDER, 400))
    with pytest.raises(IdempotencyConflict):
        ledger.submit(Transfer("charge", ALICE, ORDER, 401))


def test_a_refund_can_never_exceed_what_the_order_was_charged() -> None:
    ledger = funded(1000)
    ledger.submit(Transfer("charge", ALICE, ORDER, 400))
    ledger.submit(Transfer("refund-1", ORDER, ALICE, 300))
    with pytest.raises(InsufficientFunds) as refused:
        ledger.submit(Transfer("refund-2", ORDER, ALICE, 200))
    assert refused.value.available == 100


@pytest.mark.parametrize("amount", [0, -1, 12.5, "100", True, None])
def test_an_amount_must_be_a_positive_integer_of_yen(amount: object) -> None:
    with pytest.raises(InvalidAmount):
        check_amount(amount)


def test_a_transfer_needs_two_accounts() -> None:
    with pytest.raises(SameAccount):
        funded(100).submit(Transfer("self", ALICE, ALICE, 1))


def test_apply_refuses_before_changing_anything() -> None:
    debit = Balances(credits_posted=100, guarded=True)
    with pytest.raises(InsufficientFunds):
        apply(Phase.POSTED, 101, debit, Balances())
    assert debit == Balances(credits_posted=100, guarded=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["pay_in", "charge", "hold", "refund"]), st.integers(1, 5000)), max_size=60))
def test_any_sequence_of_operations_keeps_the_deposit_at_or_above_zero(ops: list[tuple[str, int]]) -> None:
    ledger = funded(0)
    for n, (op, amount) in enumerate(ops):
        transfer = {
            "pay_in": Transfer(f"k{n}", BANK, ALICE, amount),
            "charge": Transfer(f"k{n}", ALICE, ORDER, amount),
            "hold": Transfer(f"k{n}", ALICE, PAYOUTS, amount, Phase.PENDING),
            "refund": Transfer(f"k{n}", ORDER, ALICE, amount),
        }[op]
        with contextlib.suppress(InsufficientFunds):
            ledger.submit(transfer)
        assert ledger.accounts[ALICE].available >= 0
        assert ledger.accounts[ORDER].available >= 0
    assert totals(ledger.accounts.values()).balanced


class LedgerMachine(RuleBasedStateMachine):
    """Random interleavings of pay-ins, charges, refunds, holds, posts, voids and retries.

    After every step: no guarded account is below zero, Σ debits = Σ credits,
    and folding the transfers from scratch gives exactly the balances kept.
    """

    holds = Bundle("holds")
    done = Bundle("done")

    def __init__(self) -> None:
        super().__init__()
        self.ledger = funded(0)
        self.n = 0

    def _key(self) -> str:
        self.n += 1
        return f"t{self.n}"

    def _try(self, transfer: Transfer) -> Transfer | None:
        try:
            return self.ledger.submit(transfer).transfer
        except InsufficientFunds:
            return None

    @rule(target=done, amount=st.integers(1, 10_000))
    def pay_in(self, amount: int) -> Transfer | None:
        return self._try(Transfer(self._key(), BANK, ALICE, amount))

    @rule(target=done, amount=st.integers(1, 10_000))
    def charge(self, amount: int) -> Transfer | None:
        return self._try(Transfer(self._key(), ALICE, ORDER, amount))

    @rule(target=done, amount=st.integers(1, 10_000))
    def refund(self, amount: int) -> Transfer | None:
        return self._try(Transfer(self._key(), ORDER, ALICE, amount))

    @rule(target=holds, amount=st.integers(1, 10_000))
    def hold(self, amount: int) -> Transfer | None:
        return self._try(Transfer(self._key(), ALICE, PAYOUTS, amount, Phase.PENDING))

    @rule(hold=consumes(holds), post=st.booleans())
    def resolve(self, hold: Transfer | None, post: bool) -> None:
        if hold is None:
            return
        phase = Phase.POST_PENDING if post else Phase.VOID_PENDING
        self.ledger.submit(Transfer(self._key(), hold.debit, hold.credit, hold.amount, phase, hold.key))

    @rule(earlier=done)
    def retry(self, earlier: Transfer | None) -> None:
        if earlier is None:
            return
        before = dict(self.ledger.accounts)
        assert self.ledger.submit(earlier).replayed
        assert self.ledger.accounts == before

    @invariant()
    def never_below_zero(self) -> None:
        for code in (ALICE, ORDER):
            assert self.ledger.accounts[code].available >= 0

    @invariant()
    def debits_equal_credits(self) -> None:
        assert totals(self.ledger.accounts.values()).balanced

    @invariant()
    def balances_are_the_fold_of_the_transfers(self) -> None:
        derived = fold(((t.debit, t.credit, t.phase, t.amount) for t in self.ledger.transfers), [ALICE, ORDER])
        for code, kept in self.ledger.accounts.items():
            assert derived.get(code, Balances(guarded=kept.guarded)) == kept


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
