"""Sign-in through the local stack's OpenID Connect provider: authorization code with PKCE.

The portal's "Sign in" sends the browser to the provider (oidc-client-ts), the development user
`cust-1` signs in on the provider's own login page, and the portal trades the code for tokens at
/auth/callback. The access token it got is one the services accept: the orders page loads cust-1's
orders from the API with it.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.portal.conftest import Cast, new_person


def test_a_customer_signs_in_through_the_oidc_provider_and_sees_their_orders(cast: Cast) -> None:
    person = new_person(cast.browser, cast.portal_url, cast.folder, "customer")
    cast.people["customer"] = person
    page = person.page
    page.goto("/sign-in")
    expect(page.get_by_role("heading", name=re.compile("^Sign in to"))).to_be_visible()
    sign_in = page.get_by_role("button", name="Sign in", exact=True)
    if not sign_in.is_visible():
        pytest.skip("this deployment has no OIDC provider configured (config.json's oidc is null)")
    person.shot("sign-in")
    sign_in.click()

    # The provider's development login page: any password for a development user.
    page.wait_for_url(re.compile("/oidc/"))
    page.locator("input[name=login]").fill("cust-1")
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()
    consent = page.locator("button[type=submit]", has_text=re.compile("Continue", re.I))
    if consent.is_visible():
        consent.click()

    page.wait_for_url(re.compile("/orders$"))
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    expect(page.get_by_text("Customer cust-1")).to_be_visible()
    # The API answered with the token: the list (maybe empty) is shown, not a problem.
    expect(page.get_by_role("tabpanel").get_by_role("alert")).to_have_count(0)
    expect(page.get_by_role("tabpanel")).not_to_contain_text("Loading")
    person.shot("signed-in")
