"""A forward order whose payment deadline staff move: the customer's open page shows it canceled by itself.

The customer applies for the forward service and keeps the order page open; staff confirm handling
(the customer is asked to pay the fee) and then move the payment deadline to the next minute. When it
passes unpaid, R5 cancels the order in the workflow, and the customer's page follows from the live
stream, without a reload.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.portal.conftest import Cast, Person
from tests.portal.test_two_time_purchase import apply_for_service, staff_operation, status

# A minute boundary at least this far away: the form takes minutes, and the deadline must be in the future.
MARGIN_MS = 20_000


def apply_for_forwarding(customer: Person) -> str:
    """The customer applies for the forward service, 1-time payment (one item); returns the order's id."""
    item = {
        "Item name": "Vintage film camera",
        "Where you bought it": "https://jp.mercari.example/item/m123",
        "Quantity": "1",
        "Estimated unit price (yen)": "18000",
        "Domestic tracking number": "4567-8901-2345",
    }
    address = {
        "Name": "Sam Lee",
        "Address": "88 King Street",
        "Country (e.g. FR)": "GB",
        "Postal code": "M2 4WU",
        "Phone": "+44 161 496 0000",
    }
    return apply_for_service(customer, "Forward service", "1-time", item, address)


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
