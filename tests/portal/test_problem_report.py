"""A problem report with a photo, resolved by staff with a refund to the deposit.

A one-time purchase order is paid and shipped; the customer opens Reception Report, follows "please
report the problems from this page", describes the defect and attaches a photo. Staff see the photo
in the order's thread and resolve the dispute with a partial refund; the customer's open page shows
the resolution and the refund, and the deposit holds the refunded amount.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

from playwright.sync_api import expect

from tests.portal.conftest import Cast
from tests.portal.test_deposit import pay_in_by_card
from tests.portal.test_two_time_purchase import apply_for_purchase, staff_operation, status


def png(path: Path) -> Path:
    """A real 2x2 PNG (messaging checks photos by their content)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )
    return path


def test_a_problem_report_with_a_photo_is_resolved_by_staff_with_a_refund(cast: Cast, tmp_path: Path) -> None:
    customer = cast.sign("customer")
    staff = cast.sign("staff", staff=True)
    page = customer.page
    order_id = apply_for_purchase(customer, "1-time")

    staff.page.goto(f"/staff/orders/{order_id}")
    staff.page.get_by_role("form", name="Estimate", exact=True).get_by_label(re.compile("^Gundam")).fill("5000")
    staff_operation(
        staff,
        "Estimate",
        {
            "Domestic shipping (yen)": "800",
            "Service fee (yen)": "500",
            "International shipping (yen, 1-time plan)": "2400",
        },
    )
    expect(status(page)).to_have_text("Awaiting payment", timeout=60_000)

    # Money in by card, then the single billing paid from the deposit.
    pay_in_by_card(customer, "10000")
    page.goto(f"/orders/{order_id}")
    page.get_by_role("button", name="Pay billing").click()
    page.get_by_role("dialog").get_by_role("button", name=re.compile("^Pay .* from the deposit$")).click()
    expect(status(page)).to_have_text("Purchasing", timeout=60_000)

    staff.page.goto(f"/staff/orders/{order_id}")
    staff_operation(staff, "Item purchased", {}, {"Item": "1"})
    staff_operation(staff, "Item arrived", {}, {"Item": "1"})
    staff_operation(
        staff, "Ship", {"Method": "EMS", "Carrier": "Japan Post", "Tracking numbers (one per line)": "EM000000001JP"}
    )
    expect(status(page)).to_have_text("Shipped", timeout=60_000)

    # Reception Report → "please report the problems from this page", with a photo of the defect.
    page.get_by_role("button", name="Reception Report").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Please report the problems from this page").click()
    dialog.get_by_label("What is wrong").fill("The left arm of the figure is broken.")
    dialog.get_by_label("Photos of the defects").set_input_files(str(png(tmp_path / "broken-arm.png")))
    customer.shot("problem-report")
    dialog.get_by_role("button", name="Report the problems").click()
    expect(status(page)).to_have_text("Problem reported", timeout=60_000)
    expect(page.get_by_role("img", name="broken-arm.png")).to_be_visible(timeout=60_000)
    customer.shot("disputed")

    # Staff see the photo in the thread and resolve with a refund.
    staff.page.reload()
    expect(staff.page.get_by_role("img", name="broken-arm.png")).to_be_visible(timeout=60_000)
    staff_operation(staff, "Resolve dispute", {"Refund (yen)": "1500", "Resolution": "one arm arrived broken"})
    staff.shot("dispute-resolved")

    expect(page.get_by_text(re.compile("resolved: one arm arrived broken"))).to_be_visible(timeout=60_000)
    expect(page.get_by_text(re.compile("Refunded: ¥1,500"))).to_be_visible(timeout=60_000)
    customer.shot("refunded")
    page.goto("/deposit")
    expect(page.get_by_role("cell", name=re.compile("Refund"))).to_be_visible()
