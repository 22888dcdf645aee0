"""The dashboard's usage: the Usage page's totals per tenant and task, scoped to a tenant key, and
what each attempt used on the job page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .harness import Site


def sign_in(page: Page, site: Site, tenant: str | None, path: str) -> None:
    page.goto(site.url + path)
    page.fill("#api-key", site.key(tenant))
    page.click("#sign-in")
    expect(page.locator("#who")).to_contain_text("admin" if tenant is None else tenant)


def keys(page: Page, table: str) -> list[str]:
    expect(page.locator(f"#{table}")).to_be_visible()
    cells = page.locator(f"#{table} tbody tr:not(.empty) td:first-child")
    return sorted(cells.all_inner_texts())


def test_usage_page_totals_tenants_and_tasks(page: Page, site: Site) -> None:
    done = [site.enqueue("add", n, n, tenant=tenant) for n in range(3) for tenant in ("a", "b")]
    site.run_to_end(*done, site.enqueue("charge", 250, tenant="b"))
    sign_in(page, site, None, "/ui/usage")
    expect(page.locator("#usage-tenants tbody tr")).to_have_count(2)
    assert keys(page, "usage-tenants") == ["a", "b"]
    assert keys(page, "usage-tasks") == ["add", "charge"]
    expect(page.locator(".chart")).to_be_visible()


def test_a_tenant_sees_only_its_own_usage(page: Page, site: Site) -> None:
    site.run_to_end(site.enqueue("add", 1, 2, tenant="a"), site.enqueue("add", 3, 4, tenant="b"))
    sign_in(page, site, "b", "/ui/usage")
    expect(page.locator("#usage-tenants tbody tr")).to_have_count(1)
    assert keys(page, "usage-tenants") == ["b"]


def test_the_job_page_shows_what_each_attempt_used(page: Page, site: Site) -> None:
    job_id = site.enqueue("add", 2, 3)
    site.run_to_end(job_id)
    sign_in(page, site, None, f"/ui/jobs/{job_id}")
    expect(page.locator("#job-usage tbody tr")).to_have_count(2)
    expect(page.locator("#job-usage tbody tr").first).to_contain_text("1")
    expect(page.locator("#job-usage tbody tr").last).to_contain_text("Total")
