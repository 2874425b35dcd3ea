"""Logging in through a real browser, and the redacted config page."""

from __future__ import annotations


def test_login_refuses_a_wrong_password_then_lets_the_admin_in(
    browser, dashboard_server, shots_dir
):
    context = browser.new_context(base_url=dashboard_server["base"])
    page = context.new_page()
    page.goto("/config")
    assert "/login?next=/config" in page.url  # every page needs the login
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text() == "Wrong username or password."
    page.screenshot(path=str(shots_dir / "dashboard-login.png"))
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/config")
    assert page.locator("#config-json").is_visible()
    context.close()


def test_config_page_shows_the_deployment_with_secrets_redacted(page, shots_dir):
    page.goto("/config")
    text = page.locator("#config-json").inner_text()
    assert '"name": "tdx-sdr"' in text or "tdx" in text
    page.screenshot(path=str(shots_dir / "dashboard-config.png"), full_page=True)
