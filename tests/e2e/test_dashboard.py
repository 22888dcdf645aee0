"""The dashboard in real headless Chromium, against a real server, database and worker.

Each test saves screenshots of the pages it visits under ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .harness import REFRESHED, Site, shoot, wait_until

DEMO_OPTIONS = ("--workers", "1", "--no-view", "--port", "0")

# One refresh period (5 s) and then some: what a test waits for the page to update by itself.


def sign_in(page: Page, site: Site, tenant: str | None = None, path: str = "/ui/") -> None:
    page.goto(site.url + path)
    page.fill("#api-key", site.key(tenant))
    page.click("#sign-in")
    expect(page.locator("#who")).to_contain_text("admin" if tenant is None else tenant)


def rows(page: Page, table: str) -> list[str]:
    """The text of each data row of ``table`` (ids and tasks first), waiting for it to show."""
    expect(page.locator(f"#{table}")).to_be_visible()
    return page.locator(f"#{table} tbody tr:not(.empty)").all_inner_texts()


def job_ids(page: Page, table: str) -> list[int]:
    return [int(re.findall(r"#(\d+)", text)[0]) for text in rows(page, table)]


def test_sign_in_shows_the_overview_and_sign_out_forgets_the_key(page: Page, site: Site) -> None:
    done = [site.enqueue("add", n, n, tenant=tenant) for n in range(3) for tenant in ("a", "b")]
    site.run_to_end(*done)
    site.dead(tenant="a")
    site.enqueue("add", 1, 1, tenant="b")

    page.goto(site.url + "/ui/")
    expect(page.locator("#api-key")).to_be_visible()
    shoot(page, "sign-in")
    page.fill("#api-key", "wh_000000000000_" + "A" * 43)
    page.click("#sign-in")
    expect(page.locator("#sign-in-error")).to_contain_text("not valid")

    page.fill("#api-key", site.key(None))
    page.click("#sign-in")
    expect(page.locator("#stat-finished .stat-value")).to_have_text("7")
    # Not remembered: the key lives in this tab's sessionStorage, never in localStorage.
    assert page.evaluate("window.localStorage.length") == 0
    assert page.evaluate("window.sessionStorage.length") == 1
    expect(page.locator("#stat-dead .stat-value")).to_have_text("1")
    expect(page.locator("#stat-waiting .stat-value")).to_have_text("1")
    expect(page.locator("#throughput-chart rect.bar")).not_to_have_count(0)
    expect(page.locator("#wait-chart circle.dot")).not_to_have_count(0)
    expect(page.locator("#tenant-load li")).to_have_count(2)
    assert [text.split()[0] for text in rows(page, "queues-table")] == ["a", "b"]
    shoot(page, "overview")

    page.reload()
    expect(page.locator("#who")).to_contain_text("admin")
    page.click("#sign-out")
    expect(page.locator("#api-key")).to_be_visible()
    page.reload()
    expect(page.locator("#api-key")).to_be_visible()
    assert page.evaluate("window.localStorage.length + window.sessionStorage.length") == 0


def test_a_key_is_forgotten_with_the_tab_unless_remembered(page: Page, site: Site) -> None:
    page.goto(site.url + "/ui/")
    page.fill("#api-key", site.key(None))
    page.click("#sign-in")
    expect(page.locator("#who")).to_contain_text("admin")
    other_tab = page.context.new_page()
    other_tab.goto(site.url + "/ui/")
    expect(other_tab.locator("#api-key")).to_be_visible()  # a new tab has no key
    other_tab.close()

    page.click("#sign-out")
    page.fill("#api-key", site.key(None))
    page.check("#remember-me")
    page.click("#sign-in")
    expect(page.locator("#who")).to_contain_text("admin")
    assert page.evaluate("window.sessionStorage.length") == 0
    other_tab = page.context.new_page()
    other_tab.goto(site.url + "/ui/")
    expect(other_tab.locator("#who")).to_contain_text("admin")  # remembered in this browser
    other_tab.click("#sign-out")
    expect(other_tab.locator("#api-key")).to_be_visible()
    assert other_tab.evaluate("window.localStorage.length") == 0
    other_tab.close()


def test_jobs_list_filters_pages_and_opens_a_job(page: Page, site: Site) -> None:
    dead = site.dead("charge", 4321)
    queued = [site.enqueue("add", n, 1) for n in range(30)]
    sign_in(page, site, path="/ui/jobs")

    assert job_ids(page, "jobs-table") == queued[::-1][:25]
    expect(page.locator("#page-info")).to_contain_text("Page 1")
    shoot(page, "jobs")
    page.click("#older")
    expect(page.locator("#page-info")).to_contain_text("Page 2")
    assert job_ids(page, "jobs-table") == [*queued[::-1][25:], dead]
    page.click("#newer")
    expect(page.locator("#page-info")).to_contain_text("Page 1")

    page.select_option("#filter-state", "dead")
    page.click("#apply-filters")
    expect(page.locator("#jobs-table tbody tr")).to_have_count(1)
    assert job_ids(page, "jobs-table") == [dead]
    assert "state=dead" in page.url
    page.click("#reset-filters")
    expect(page.locator("#jobs-table tbody tr")).to_have_count(25)

    page.fill("#filter-task", "charge")
    page.click("#apply-filters")
    expect(page.locator("#jobs-table tbody tr")).to_have_count(1)
    page.click(f'a.job-link:text("#{dead}")')
    expect(page.locator("#page-title")).to_have_text(f"Job #{dead}")
    expect(page.locator("#job-args pre")).to_contain_text("4321")
    expect(page.locator("#attempts li")).to_have_count(1)
    expect(page.locator("#attempts .error-type")).to_have_text("ValueError")
    expect(page.locator("#attempts .error-message")).to_have_text("card declined for 4321 cents")
    page.click("#attempts summary")
    expect(page.locator("#attempts details pre")).to_contain_text("Traceback (most recent")
    events = page.locator("#timeline li").evaluate_all("items => items.map(i => i.dataset.event)")
    assert events == ["created", "started", "finished"]
    shoot(page, "job")


def test_retrying_a_dead_job_requeues_it_and_a_worker_runs_it(page: Page, site: Site) -> None:
    dead = site.dead("charge", 999)
    sign_in(page, site, path=f"/ui/jobs/{dead}")
    expect(page.locator(".page-head .pill")).to_have_text("dead")
    page.click("#retry-job")
    expect(page.locator(".page-head .pill")).to_have_text("queued")
    expect(page.locator("#retry-job")).to_have_count(0)
    assert site.state(dead) is JobState.QUEUED
    shoot(page, "job-retried")

    with site.worker():
        site.wait_state(dead, JobState.SUCCEEDED)
        # The page sees it by itself, on its next refresh.
        expect(page.locator(".page-head .pill")).to_have_text("succeeded", timeout=REFRESHED)
    expect(page.locator("#job-result pre")).to_contain_text('"charged": 999')
    expect(page.locator("#live")).to_contain_text("Live")
    shoot(page, "job-succeeded")


def test_dead_jobs_retry_cancel_and_bulk_redrive_after_a_dry_run(page: Page, site: Site) -> None:
    site.switches.fail.set()
    value_errors = [site.enqueue("fail", "value") for _ in range(3)]
    key_errors = [site.enqueue("fail", "key") for _ in range(2)]
    other = site.enqueue("charge", 5, tenant="globex")
    site.run_to_end(*value_errors, *key_errors, other)
    site.switches.fail.clear()
    sign_in(page, site, path="/ui/dead")
    assert sorted(job_ids(page, "dead-table")) == sorted([*value_errors, *key_errors, other])

    page.click(f'#dead-table tr[data-job-id="{other}"] button[data-action="cancel"]')
    expect(page.locator(f'#dead-table tr[data-job-id="{other}"]')).to_have_count(0)
    assert site.state(other) is JobState.CANCELLED

    page.click(f'#dead-table tr[data-job-id="{value_errors[0]}"] button[data-action="retry"]')
    expect(page.locator(f'#dead-table tr[data-job-id="{value_errors[0]}"]')).to_have_count(0)
    assert site.state(value_errors[0]) is JobState.QUEUED

    page.fill("#redrive-error-type", "KeyError")
    page.click("#redrive-preview")
    expect(page.locator("#redrive-count")).to_have_attribute("data-count", "2")
    expect(page.locator("#redrive-confirm")).to_have_text("Retry 2 jobs")
    assert {site.state(job_id) for job_id in key_errors} == {JobState.DEAD}, "a dry run"
    shoot(page, "dead")
    page.click("#redrive-confirm")
    expect(page.locator("#redrive-done")).to_have_text("Requeued 2 jobs.")
    assert {site.state(job_id) for job_id in key_errors} == {JobState.QUEUED}
    expect(page.locator("#dead-table tbody tr")).to_have_count(2)

    page.fill("#redrive-error-type", "")
    page.select_option("#redrive-action", "cancel")
    page.click("#redrive-preview")
    expect(page.locator("#redrive-confirm")).to_have_text("Cancel 2 jobs")
    page.click("#redrive-dismiss")
    expect(page.locator("#redrive-confirm")).to_have_count(0)
    assert {site.state(job_id) for job_id in value_errors[1:]} == {JobState.DEAD}


def test_a_tenant_key_sees_only_its_own_tenant(page: Page, site: Site) -> None:
    our_dead = site.dead(tenant="acme")
    their_dead = site.dead(tenant="globex")
    ours = [site.enqueue("add", n, n, tenant="acme") for n in range(2)]
    theirs = [site.enqueue("add", n, n, tenant="globex") for n in range(3)]
    sign_in(page, site, tenant="acme", path="/ui/jobs")

    assert sorted(job_ids(page, "jobs-table")) == sorted([*ours, our_dead])
    expect(page.locator("#jobs-table th")).not_to_contain_text(["Tenant"])
    expect(page.locator("#filter-tenant")).to_have_count(0)
    expect(page.locator('nav a[data-nav="workers"]')).to_have_count(0)
    shoot(page, "tenant-jobs")

    page.goto(f"{site.url}/ui/jobs/{theirs[0]}")
    expect(page.locator("#job-missing")).to_contain_text(f"Job #{theirs[0]} was not found")
    page.goto(f"{site.url}/ui/jobs/{their_dead}")
    expect(page.locator("#job-missing")).to_be_visible()

    page.goto(f"{site.url}/ui/")
    expect(page.locator("#stat-waiting .stat-value")).to_have_text("2")
    expect(page.locator("#stat-dead .stat-value")).to_have_text("1")
    assert [text.split()[0] for text in rows(page, "queues-table")] == ["default"]
    expect(page.locator("#tenant-load li")).to_have_count(1)
    expect(page.locator("#tenant-load li")).to_have_attribute("data-tenant", "acme")
    shoot(page, "tenant-overview")

    page.click('nav a[data-nav="dead"]')
    assert job_ids(page, "dead-table") == [our_dead]
    expect(page.locator("#redrive-tenant")).to_have_count(0)
    page.click("#redrive-preview")
    expect(page.locator("#redrive-count")).to_have_attribute("data-count", "1")

    page.click('nav a[data-nav="tenants"]')
    expect(page.locator("#tenants-table tbody tr")).to_have_count(1)
    expect(page.locator("#tenants-table tbody tr")).to_have_attribute("data-tenant", "acme")
    expect(page.locator("#tenants-table button")).to_have_count(0)

    page.goto(f"{site.url}/ui/workers")
    expect(page.locator("#workers-admin-only")).to_be_visible()


def test_workers_and_tenants_pages_show_load_against_capacity(page: Page, site: Site) -> None:
    site.app.set_tenant("acme", max_running=5, rate=20.0)
    blocked = [site.enqueue("block") for _ in range(2)]
    with site.worker() as worker:
        for job_id in blocked:
            site.wait_state(job_id, JobState.RUNNING)
        sign_in(page, site, path="/ui/workers")
        row = page.locator(f'#workers-table tr[data-worker="{worker.worker.id}"]')
        expect(row).to_contain_text("2 / 4 · 50%")
        expect(page.locator("#worker-summary")).to_contain_text("50%")
        shoot(page, "workers")

        page.click('nav a[data-nav="tenants"]')
        acme = page.locator('#tenants-table tr[data-tenant="acme"]')
        expect(acme).to_contain_text("2 / 5")
        expect(acme).to_contain_text("20/s")
        shoot(page, "tenants")
        acme.locator('button[data-action="pause"]').click()
        expect(acme.locator(".pill")).to_have_text("paused")
        assert site.app.get_tenant("acme").paused
        site.switches.release.set()
        for job_id in blocked:
            site.wait_state(job_id, JobState.SUCCEEDED)


def test_serve_demo_shows_live_jobs_of_several_tenants(page: Page, tmp_path: Path) -> None:
    """The "done means" of the dashboard: ``workhorse serve --demo``, then open ``/ui``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKHORSE_")}
    output = tmp_path / "serve.stdout"
    with output.open("wb") as out:
        serve = subprocess.Popen(
            [sys.executable, "-m", "workhorse", "serve", "--demo", *DEMO_OPTIONS],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
    try:
        line = wait_until(
            lambda: re.search(r"Dashboard: (\S+)/ui .* key (\S+)\)", output.read_text()),
            what="serve --demo to print the dashboard's address and key",
        )
        url, key = line[1], line[2]
        assert url.startswith("http://127.0.0.1:")
        page.goto(f"{url}/ui/")
        page.fill("#api-key", key)
        page.click("#sign-in")
        expect(page.locator("#tenant-load li")).to_have_count(3, timeout=REFRESHED)
        expect(page.locator("#throughput-chart rect.bar")).not_to_have_count(0)
        shoot(page, "demo-overview")
        page.click('nav a[data-nav="jobs"]')
        tenants = {text.split("\t")[2] for text in rows(page, "jobs-table")}
        assert tenants == {"acme", "globex", "initech"}
        shoot(page, "demo-jobs")
    finally:
        serve.terminate()
        serve.wait(20)


def test_webhooks_page_shows_a_tenants_endpoints_and_deliveries_and_redelivers(
    page: Page, site: Site
) -> None:
    ours = site.app.events.add_webhook("acme", "https://hooks.example.com/acme").destination
    site.app.events.add_webhook("globex", "https://hooks.example.com/globex")
    site.app.cancel(site.enqueue("add", 1, 2, tenant="acme"))
    site.app.cancel(site.enqueue("add", 3, 4, tenant="globex"))
    _give_up_deliveries(site)
    sign_in(page, site, tenant="acme", path="/ui/webhooks")

    expect(page.locator("#webhooks-table tbody tr")).to_have_count(1)
    hook = page.locator(f'#webhooks-table tr[data-webhook="{ours.id}"]')
    expect(hook).to_contain_text("https://hooks.example.com/acme")
    expect(hook).to_contain_text("enabled")
    [delivery] = site.app.events.deliveries(tenant="acme")
    row = page.locator(f'#deliveries-table tr[data-delivery="{delivery.id}"]')
    expect(row).to_contain_text("job.cancelled")
    expect(row).to_have_attribute("data-state", "failed")
    expect(row).to_contain_text("503")
    expect(page.locator("#deliveries-table tbody tr")).to_have_count(1)
    shoot(page, "webhooks")
    row.locator('button[data-action="redeliver"]').click()
    expect(page.locator(".toast").last).to_contain_text(f"evt_{delivery.event_id}")
    expect(row).to_have_attribute("data-state", "pending")
    [again] = site.app.events.deliveries(tenant="acme")
    assert again.state is b.DeliveryState.PENDING and again.attempts == 0


def _give_up_deliveries(site: Site) -> None:
    """Every delivery tried once and given up on (a 503), as a dispatcher would record it."""
    now = site.app.clock()
    claim = b.DeliveryClaimParams(now=now, limit=10, lease=timedelta(seconds=30), token="t")
    outcomes = [
        b.DeliveryOutcome(id=d.id, token="t", delivered=False, status=503, error="HTTP 503")
        for d in site.app.backend.delivery_claim(claim)
    ]
    site.app.backend.delivery_finish_many(b.DeliveryFinishManyParams(outcomes=outcomes, now=now))
