"""A forward order whose payment deadline staff move: the customer's open page shows it canceled by itself.

The customer applies for the forward service and keeps the order page open; staff confirm handling
(the customer is asked to pay the fee) and then move the payment deadline to the next minute. When it
passes unpaid, R5 cancels the order in the workflow, and the customer's page follows from the live
stream, without a reload.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.portal.conftest import Cast, Person
from tests.portal.test_two_time_purchase import staff_operation, status

# A minute boundary at least this far away: the form takes minutes, and the deadline must be in the future.
MARGIN_MS = 20_000


def apply_for_forwarding(customer: Person) -> str:
    """The customer applies for the forward service, 1-time payment (one item); returns the order's id."""
    page = customer.page
    page.get_by_role("link", name="Apply for agency service").first.click()
    page.get_by_label("Forward service — you bought them, we forward them").check()
    page.get_by_label(re.compile("1-time payment")).check()
    page.get_by_label("Item name").fill("Vintage film camera")
    page.get_by_label("Where you bought it").fill("https://jp.mercari.example/item/m123")
    page.get_by_label("Quantity").fill("1")
    page.get_by_label("Estimated unit price (yen)").fill("18000")
    page.get_by_label("Domestic tracking number").fill("4567-8901-2345")
    page.get_by_label("Name", exact=True).fill("Sam Lee")
    page.get_by_label("Address", exact=True).fill("88 King Street")
    page.get_by_label("Country (e.g. FR)").fill("GB")
    page.get_by_label("Postal code").fill("M2 4WU")
    page.get_by_label("Phone").fill("+44 161 496 0000")
    customer.shot("apply-forward")
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.get_by_role("heading", name="Order details")).to_be_visible()
    return page.url.rsplit("/", 1)[-1]


def test_a_forward_order_staff_move_the_payment_deadline_on_is_seen_canceled_live(cast: Cast) -> None:
    customer = cast.sign("customer")
    staff = cast.sign("staff", staff=True)
    order_id = apply_for_forwarding(customer)

    staff.page.goto(f"/staff/orders/{order_id}")
    expect(status(staff.page)).to_contain_text("Applied")
    staff_operation(
        staff,
        "Confirm handling",
        {"Service fee (yen)": "800", "International shipping (yen, 1-time plan)": "2400"},
    )
    expect(status(customer.page)).to_have_text("Awaiting payment", timeout=60_000)
    expect(customer.page.get_by_role("button", name="Pay billing")).to_be_visible()
    customer.shot("awaiting-payment")

    # The next minute boundary in the staff browser's own time zone, as its datetime-local field wants it.
    due = staff.page.evaluate(
        """(margin) => {
            const due = new Date(Math.ceil((Date.now() + margin) / 60000) * 60000);
            const two = (n) => String(n).padStart(2, "0");
            const day = `${due.getFullYear()}-${two(due.getMonth() + 1)}-${two(due.getDate())}`;
            return `${day}T${two(due.getHours())}:${two(due.getMinutes())}`;
        }""",
        MARGIN_MS,
    )
    staff_operation(staff, "Move deadline", {"New time (your local time)": due}, selects={"Deadline": "payment"})
    staff.shot("deadline-moved")

    # Unpaid when it passes: R5 cancels the order, and the customer's open page shows it by itself.
    expect(status(customer.page)).to_have_text("Canceled", timeout=150_000)
    expect(customer.page.get_by_role("button", name="Pay billing")).to_have_count(0)
    customer.shot("canceled")
