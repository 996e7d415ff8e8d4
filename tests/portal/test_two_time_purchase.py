"""A whole two-time purchase order in the browser, a customer and a staff member side by side.

apply → estimate → Deposit Report by bank transfer → staff confirm → pay 1st billing → purchased →
arrived → 2nd billing → pay → ship → Reception Report → completed. The customer's order page stays
open while staff act in their own browser and must change by itself (live streams, no reload); the
time from each staff click to the customer's page showing it is written to ``live-latency.txt`` in
the test's artifacts (a measurement for the record, not a threshold).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from daiko.settings import PROJECT_ROOT
from services.deposits.settings import DepositsSettings
from tests.portal.conftest import Cast, Person

DOCS_IMAGES = PROJECT_ROOT / "docs" / "images"
# The documentation's pictures are refreshed only when asked (DAIKO_UPDATE_DOCS_IMAGES=1): a test run leaves
# the checkout as it found it.
UPDATE_DOCS_IMAGES = os.environ.get("DAIKO_UPDATE_DOCS_IMAGES") == "1"


def keep_for_docs(shot: Path, name: str) -> None:
    if UPDATE_DOCS_IMAGES:
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, DOCS_IMAGES / name)


def status(page: Page) -> Locator:
    return page.get_by_test_id("order-status")


def apply_for_service(customer: Person, service: str, plan: str, item: dict[str, str], address: dict[str, str]) -> str:
    """The customer applies (one item, a delivery address) and lands on the new order; returns its id.

    ``service`` and ``plan`` are the radio labels' beginnings; ``item`` and ``address`` map field labels to values.
    """
    page = customer.page
    page.get_by_role("link", name="Apply for agency service").first.click()
    page.get_by_label(service).check()
    page.get_by_label(re.compile(f"{plan} payment")).check()
    for label, value in item.items():
        page.get_by_label(label).fill(value)
    for label, value in address.items():
        page.get_by_label(label, exact=label in ("Name", "Address")).fill(value)
    customer.shot(f"apply-{service.split()[0].lower()}")
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.get_by_role("heading", name="Order details")).to_be_visible()
    expect(status(page)).to_contain_text("Applied")
    return page.url.rsplit("/", 1)[-1]


def apply_for_purchase(customer: Person, plan: str) -> str:
    """The customer applies for the purchase service (one item); returns the new order's id."""
    item = {
        "Item name": "Gundam RX-78-2 Ver. Ka, MG 1/100",
        "Shop or URL": "https://www.amiami.example/item/123456",
        "Quantity": "1",
        "Estimated unit price (yen)": "5000",
    }
    address = {
        "Name": "Alex Martin",
        "Address": "12 rue Oberkampf",
        "Country (e.g. FR)": "FR",
        "Postal code": "75011",
        "Phone": "+33 6 12 34 56 78",
    }
    return apply_for_service(customer, "Purchase service", plan, item, address)


def staff_operation(staff: Person, label: str, fields: dict[str, str], selects: dict[str, str] | None = None) -> float:
    """Opens the operation's form on staff's order page, fills it, submits; returns when it was submitted."""
    page = staff.page
    summary = page.locator("summary", has_text=re.compile(f"^{re.escape(label)}$"))
    if not summary.evaluate("s => s.parentElement.open"):
        summary.click()
    form = page.get_by_role("form", name=label, exact=True)
    for name, value in (selects or {}).items():
        form.get_by_role("combobox", name=re.compile(f"^{re.escape(name)}")).select_option(value)
    for name, value in fields.items():
        form.get_by_label(name, exact=True).fill(value)
    submitted = time.monotonic()
    form.get_by_role("button", name=label, exact=True).click()
    done = page.get_by_test_id("operation-done")
    expect(done.filter(has_text=f"{label}: done.").or_(form.get_by_role("alert"))).to_be_visible()
    assert done.inner_text() == f"{label}: done.", f"staff's {label} was refused: {form.inner_text()}"
    return submitted


def test_a_two_time_purchase_order_from_application_to_completion(cast: Cast) -> None:
    customer = cast.sign("customer")
    staff = cast.sign("staff", staff=True)
    latencies: list[tuple[str, float]] = []

    def customer_sees(step: str, submitted: float, text: str) -> None:
        expect(status(customer.page)).to_have_text(text, timeout=60_000)
        latencies.append((step, time.monotonic() - submitted))

    # The customer applies for the purchase service, 2-time payment.
    page = customer.page
    order_id = apply_for_purchase(customer, "2-time")
    customer.shot("applied")

    # Staff estimate it; the customer's open page shows the green button to pay the 1st billing.
    staff.page.goto(f"/staff/orders/{order_id}")
    expect(status(staff.page)).to_contain_text("Applied")
    staff.shot("order-applied")
    form = staff.page.get_by_role("form", name="Estimate", exact=True)
    form.get_by_label(re.compile("^Gundam")).fill("5280")
    submitted = staff_operation(staff, "Estimate", {"Domestic shipping (yen)": "800", "Service fee (yen)": "500"})
    customer_sees("estimate", submitted, "Awaiting payment")
    expect(page.get_by_role("button", name="Pay billing")).to_be_visible()
    expect(page.get_by_role("heading", name="Billing for 1st payment")).to_be_visible()
    customer.shot("estimated")

    # The deposit is empty: the pop-up shows the shortfall and leads to Deposit Report.
    page.get_by_role("button", name="Pay billing").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Your deposit is short by")).to_be_visible()
    customer.shot("pay-short")
    dialog.get_by_role("link", name="Deposit Report").click()
    expect(page.get_by_role("heading", name="Deposit management")).to_be_visible()
    report = page.get_by_role("dialog")
    expect(report.get_by_role("tab", name="Bank transfer")).to_have_attribute("aria-selected", "true")
    # Where to send the money comes from the agency's settings, with the customer's own reference.
    account = report.get_by_test_id("agency-bank-account")
    expect(account).to_contain_text(DepositsSettings().agency_bank_account_number)
    expect(account).to_contain_text("Your reference")
    report.get_by_label("Amount sent (yen)").fill("10000")
    report.get_by_label("Sender name (as the bank shows it)").fill("ALEX MARTIN")
    customer.shot("deposit-report")
    report.get_by_role("button", name="Send the payment report").click()
    expect(page.get_by_role("cell", name="Pending")).to_be_visible()

    # Staff confirm the pay-in; the customer's deposit page shows it without a reload.
    staff.page.get_by_role("link", name="Pay-ins and withdrawals").click()
    decision = staff.page.get_by_role("form", name=re.compile("Decide pay-in report of cust-"))
    expect(decision.first).to_be_visible()
    staff.shot("pay-ins")
    customer_row = staff.page.locator("li.decision", has_text="ALEX MARTIN").first
    submitted = time.monotonic()
    customer_row.get_by_role("button", name="Confirm pay-in").click()
    expect(page.get_by_test_id("deposit-available")).to_have_text(re.compile("10,000"), timeout=60_000)
    latencies.append(("confirm pay-in", time.monotonic() - submitted))
    customer.shot("deposit-credited")

    # The customer pays the 1st billing from the deposit.
    page.goto(f"/orders/{order_id}")
    page.get_by_role("button", name="Pay billing").click()
    page.get_by_role("dialog").get_by_role("button", name=re.compile("^Pay .* from the deposit$")).click()
    expect(status(page)).to_have_text("Purchasing", timeout=60_000)
    customer.shot("paid-1st")

    # Staff buy the item and record its arrival; the customer's page follows.
    staff.page.goto(f"/staff/orders/{order_id}")
    submitted = staff_operation(staff, "Item purchased", {}, {"Item": "1"})
    submitted = staff_operation(staff, "Item arrived", {}, {"Item": "1"})
    customer_sees("item arrived", submitted, "At the warehouse")

    # Staff issue the 2nd billing; the customer pays it.
    submitted = staff_operation(
        staff, "Issue 2nd billing", {"International shipping (yen)": "2400", "Shipping method": "EMS"}
    )
    customer_sees("2nd billing", submitted, "Awaiting 2nd payment")
    expect(page.get_by_role("heading", name="Billing for 2nd payment")).to_be_visible()
    page.get_by_role("button", name="Pay 2nd billing").click()
    page.get_by_role("dialog").get_by_role("button", name=re.compile("^Pay .* from the deposit$")).click()
    expect(status(page)).to_have_text("Preparing shipment", timeout=60_000)

    # Staff ship it; the customer sees the tracking number as a link to the carrier.
    submitted = staff_operation(
        staff,
        "Ship",
        {"Method": "EMS", "Carrier": "Japan Post", "Tracking numbers (one per line)": "EM123456789JP"},
    )
    customer_sees("ship", submitted, "Shipped")
    tracking = page.get_by_role("link", name="EM123456789JP")
    expect(tracking).to_have_attribute("href", re.compile("japanpost"))
    shipped = customer.shot("order-details-shipped")
    keep_for_docs(shipped, "portal-order-details.png")

    # Reception Report: received fine, and the order is completed.
    page.get_by_role("button", name="Reception Report").click()
    page.get_by_role("dialog").get_by_role("button", name="All items received without problem").click()
    expect(status(page)).to_have_text("Completed", timeout=60_000)
    customer.shot("completed")

    staff.page.get_by_role("link", name="Today's work").click()
    expect(staff.page.get_by_test_id("queue-estimate")).to_be_visible()
    today = staff.shot("todays-work")
    keep_for_docs(today, "portal-todays-work.png")

    (customer.folder / "live-latency.txt").write_text(
        "".join(f"{step}\t{seconds:.2f} s\n" for step, seconds in latencies), encoding="utf-8"
    )
    print("staff action → customer's page:", ", ".join(f"{step} {seconds:.2f} s" for step, seconds in latencies))
