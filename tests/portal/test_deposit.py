"""Deposit management in the browser: a card pay-in through PayPal, and a withdrawal paid out by staff.

The card pay-in goes the way a customer's browser goes: the portal creates the PayPal order, the
customer approves it on PayPal's page (the stack's PayPal sandbox), PayPal sends them back to
``/deposit/paypal/return?token=<order id>`` and the portal captures it; the deposit shows the amount.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from tests.portal.conftest import Cast, Person


def pay_in_by_card(customer: Person, amount: str) -> None:
    page = customer.page
    page.get_by_role("link", name="Deposit management").click()
    page.get_by_role("button", name="Deposit Report").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("tab", name="Credit card").click()
    dialog.get_by_label("Amount (yen)").fill(amount)
    dialog.get_by_role("button", name="Continue to PayPal").click()
    approve = dialog.get_by_role("link", name="Pay with PayPal")
    expect(approve).to_be_visible()
    customer.shot("card-tab")
    approve_url = approve.get_attribute("href") or ""
    token = parse_qs(urlparse(approve_url).query)["token"][0]
    approve.click()  # PayPal's approve page: the sandbox approves the payment
    page.wait_for_url(re.compile("checkoutnow"))
    # PayPal sends the customer back to the portal's return page with the order id.
    page.goto(f"/deposit/paypal/return?token={token}")
    expect(page.get_by_role("status").filter(has_text="was added to your deposit")).to_be_visible()
    customer.shot("card-captured")


def test_a_card_pay_in_through_paypal_is_credited_to_the_deposit(cast: Cast) -> None:
    customer = cast.sign("customer")
    pay_in_by_card(customer, "3000")
    customer.page.get_by_role("link", name="Back to deposit management").click()
    expect(customer.page.get_by_test_id("deposit-available")).to_have_text(re.compile("3,000"))
    expect(customer.page.get_by_role("cell", name=re.compile("Paypal pay in"))).to_be_visible()
    customer.shot("deposit")


def test_a_withdrawal_request_is_paid_out_by_staff_and_the_customer_sees_it(cast: Cast) -> None:
    customer = cast.sign("customer", phone=True)
    staff = cast.sign("staff", staff=True)
    pay_in_by_card(customer, "5000")

    page = customer.page
    page.goto("/deposit")
    page.get_by_role("button", name="Withdrawal request").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Amount (yen)").fill("2000")
    dialog.get_by_label("Bank name").fill("三菱UFJ銀行")
    dialog.get_by_label("Branch (name or 3-digit code)").fill("渋谷支店")
    dialog.get_by_label("Account number (7 digits)").fill("1234567")
    dialog.get_by_label("Account holder").fill("ヤマダ タロウ")
    customer.shot("withdrawal-request")
    dialog.get_by_role("button", name="Request the withdrawal").click()
    expect(page.get_by_test_id("deposit-available")).to_have_text(re.compile("3,000"))
    requests = page.get_by_role("region", name="Withdrawal requests")
    expect(requests.get_by_role("cell", name=re.compile("Pending$"))).to_be_visible()

    staff.page.get_by_role("link", name="Pay-ins and withdrawals").click()
    request = staff.page.locator("li.decision", has_text="****4567").filter(has_text=customer_id(customer))
    expect(request).to_be_visible()
    staff.shot("withdrawals")
    request.get_by_role("button", name="Paid out").click()
    expect(request).to_have_count(0)

    # The customer's open deposit page follows by itself: the request is paid, the balance lower.
    expect(requests.get_by_role("cell", name=re.compile("Paid$"))).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("deposit-balance")).to_have_text(re.compile("3,000"))
    customer.shot("withdrawal-paid")


def customer_id(customer: Person) -> str:
    return customer.page.locator(".who").inner_text().removeprefix("Customer ").strip()


def test_a_withdrawal_to_an_iban_account_is_shown_masked_and_the_customer_cancels_it(cast: Cast) -> None:
    customer = cast.sign("customer")
    pay_in_by_card(customer, "4000")

    page = customer.page
    page.goto("/deposit")
    page.get_by_role("button", name="Withdrawal request").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Amount (yen)").fill("2500")
    dialog.get_by_role("radio", name="Bank account abroad (IBAN)").check()
    dialog.get_by_label("IBAN", exact=True).fill("DE89 3704 0044 0532 0130 01")  # one digit mistyped
    dialog.get_by_label("Account holder").fill("Erika Mustermann")
    dialog.get_by_role("button", name="Request the withdrawal").click()
    expect(dialog.get_by_role("alert").filter(has_text=re.compile("checksum", re.IGNORECASE))).to_be_visible()
    dialog.get_by_label("IBAN", exact=True).fill("DE89 3704 0044 0532 0130 00")
    customer.shot("withdrawal-iban")
    dialog.get_by_role("button", name="Request the withdrawal").click()
    expect(page.get_by_test_id("deposit-available")).to_have_text(re.compile("1,500"))
    requests = page.get_by_role("region", name="Withdrawal requests")
    expect(requests.get_by_role("cell", name="IBAN DE******3000 (COBADEFFXXX) E***")).to_be_visible()
    expect(requests.get_by_role("cell", name=re.compile("Pending$"))).to_be_visible()

    requests.get_by_role("button", name=re.compile("Cancel request")).click()
    expect(requests.get_by_role("cell", name=re.compile("Canceled$"))).to_be_visible()
    expect(requests.get_by_role("button", name=re.compile("Cancel request"))).to_have_count(0)
    expect(page.get_by_test_id("deposit-available")).to_have_text(re.compile("4,000"))
    customer.shot("withdrawal-canceled")


def test_a_paypal_withdrawal_is_paid_out_through_paypal_by_staff(cast: Cast) -> None:
    customer = cast.sign("customer")
    staff = cast.sign("staff", staff=True)
    pay_in_by_card(customer, "3000")

    page = customer.page
    page.goto("/deposit")
    page.get_by_role("button", name="Withdrawal request").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Amount (yen)").fill("1000")
    dialog.get_by_role("radio", name="PayPal").check()
    dialog.get_by_label("PayPal account e-mail").fill("hanako@example.com")
    dialog.get_by_role("button", name="Request the withdrawal").click()
    requests = page.get_by_role("region", name="Withdrawal requests")
    expect(requests.get_by_role("cell", name="PayPal h***@example.com")).to_be_visible()

    staff.page.get_by_role("link", name="Pay-ins and withdrawals").click()
    request = staff.page.locator("li.decision", has_text="PayPal h***@example.com").filter(
        has_text=customer_id(customer)
    )
    request.get_by_role("button", name="Show where to pay").click()
    expect(request.get_by_label("Where to pay")).to_contain_text("hanako@example.com")
    staff.shot("withdrawal-destination")
    request.get_by_role("button", name="Pay out with PayPal").click()
    expect(request).to_have_count(0)
    expect(requests.get_by_role("cell", name=re.compile("Paid$"))).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("deposit-balance")).to_have_text(re.compile("2,000"))
