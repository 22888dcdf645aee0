"""The dashboard's workflows in real headless Chromium: the list, a workflow's graph of steps with
their states (live), links to each step's job, Cancel and Retry failed, and a tenant key that sees
only its own workflows."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from workhorse.jobs import JobState
from workhorse.workflows import WorkflowState

from .harness import REFRESHED, Site, shoot, wait_until

HOSTILE = '<img src=x onerror="window.pwned=1">'


def sign_in(page: Page, site: Site, tenant: str | None, path: str) -> None:
    page.goto(site.url + path)
    page.fill("#api-key", site.key(tenant))
    page.click("#sign-in")
    expect(page.locator("#who")).to_contain_text("admin" if tenant is None else tenant)


def diamond(site: Site, *, tenant: str = "acme", name: str = "nightly", top: str = "add") -> int:
    """top → left, right → bottom; ``top`` is the first step's task."""
    task = site.app.get_task
    with site.app.workflow(tenant=tenant, name=name) as wf:
        first = wf.add(task(top).prepare(*([7] if top == "charge" else [1, 2])), key="top")
        left = wf.add(task("add").prepare(2, 2), key="left", after=[first])
        right = wf.add(task("add").prepare(3, 3), key="right", after=[first])
        wf.add(task("add").prepare(4, 4), key="bottom", after=[left, right])
    assert wf.id is not None
    return wf.id


def node_states(page: Page) -> dict[str, str]:
    nodes = page.locator("#workflow-graph a.wf-node")
    expect(nodes).to_have_count(4)
    return {
        str(node.get_attribute("data-step")): str(node.get_attribute("data-state"))
        for node in nodes.all()
    }


def expect_node(page: Page, step: str, state: str, timeout: float | None = None) -> None:
    node = page.locator(f'#workflow-graph a.wf-node[data-step="{step}"]')
    expect(node).to_have_attribute("data-state", state, timeout=timeout)


def test_the_list_shows_a_workflow_and_its_page_draws_the_steps_live(
    page: Page, site: Site
) -> None:
    workflow_id = diamond(site, name=HOSTILE)
    sign_in(page, site, None, "/ui/workflows")
    row = page.locator(f'#workflows-table tr[data-workflow-id="{workflow_id}"]')
    expect(row).to_contain_text(HOSTILE)  # shown as text, never parsed as markup
    expect(row).to_contain_text("running")
    expect(row).to_contain_text("0 / 4 ended")
    expect(page.locator("#workflows-table th")).to_contain_text(["Tenant"])
    shoot(page, "workflows")

    row.locator("a.workflow-link").click()
    expect(page).to_have_url(re.compile(rf"/ui/workflows/{workflow_id}$"))
    expect(page.locator("#workflow-state")).to_have_text("running")
    assert node_states(page) == {
        "top": "queued",
        "left": "blocked",
        "right": "blocked",
        "bottom": "blocked",
    }
    expect(page.locator("#steps-table tbody tr")).to_have_count(4)
    expect(page.locator('#steps-table tr[data-step="bottom"]')).to_contain_text("left, right")
    expect(page.locator("#workflow-graph path.wf-edge")).to_have_count(4)
    assert page.locator("main img").count() == 0
    assert page.evaluate("window.pwned") is None
    shoot(page, "workflow-running")

    with site.worker():
        wait_until(
            lambda: site.app.get_workflow(workflow_id).workflow.state is WorkflowState.SUCCEEDED,
            what="the workflow to succeed",
        )
        # The page sees it by itself, on its next refresh.
        expect(page.locator("#workflow-state")).to_have_text("succeeded", timeout=REFRESHED)
    assert set(node_states(page).values()) == {"succeeded"}
    expect(page.locator("#cancel-workflow")).to_have_count(0)
    shoot(page, "workflow-succeeded")

    bottom = site.app.get_workflow(workflow_id).steps[-1]
    page.locator('#workflow-graph a.wf-node[data-step="bottom"]').click()
    expect(page).to_have_url(re.compile(rf"/ui/jobs/{bottom.id}$"))
    expect(page.locator("#job-result pre")).to_have_text("8")
    expect(page.locator("#job-workflow")).to_have_text(f"#{workflow_id} · step bottom")
    page.click("#job-workflow")
    expect(page).to_have_url(re.compile(rf"/ui/workflows/{workflow_id}$"))
    expect(page.locator("#workflow-state")).to_have_text("succeeded")


def test_cancel_on_the_workflow_page_cancels_every_step(page: Page, site: Site) -> None:
    workflow_id = diamond(site)
    sign_in(page, site, None, f"/ui/workflows/{workflow_id}")
    expect_node(page, "top", "queued")
    page.click("#cancel-workflow")
    expect(page.locator("#workflow-state")).to_have_text("cancelled")
    assert set(node_states(page).values()) == {"cancelled"}
    expect(page.locator("#cancel-workflow")).to_have_count(0)
    graph = site.app.get_workflow(workflow_id)
    assert graph.workflow.state is WorkflowState.CANCELLED
    assert {step.state for step in graph.steps} == {JobState.CANCELLED}
    shoot(page, "workflow-cancelled")


def test_retry_failed_requeues_the_dead_step_and_reopens_its_dependents(
    page: Page, site: Site
) -> None:
    site.switches.fail.set()
    workflow_id = diamond(site, top="charge")
    top = site.app.get_workflow(workflow_id).steps[0].id
    site.run_to_end(top)
    wait_until(
        lambda: site.app.get_workflow(workflow_id).workflow.state is WorkflowState.FAILED,
        what="the workflow to fail",
    )
    site.switches.fail.clear()
    sign_in(page, site, None, f"/ui/workflows/{workflow_id}")
    expect(page.locator("#workflow-state")).to_have_text("failed")
    assert node_states(page) == {
        "top": "dead",
        "left": "cancelled",
        "right": "cancelled",
        "bottom": "cancelled",
    }
    shoot(page, "workflow-failed")
    page.locator('#workflow-graph a.wf-node[data-step="bottom"]').click()
    expect(page.locator("#cancel-reason")).to_have_text(f"parent job {top} failed")
    page.go_back()

    page.click("#retry-workflow")
    expect(page.locator("#workflow-state")).to_have_text("running")
    expect_node(page, "top", "queued")
    assert node_states(page) == {
        "top": "queued",
        "left": "blocked",
        "right": "blocked",
        "bottom": "blocked",
    }
    expect(page.locator("#retry-workflow")).to_have_count(0)
    with site.worker():
        expect(page.locator("#workflow-state")).to_have_text("succeeded", timeout=REFRESHED)
    assert set(node_states(page).values()) == {"succeeded"}


def test_a_tenant_key_sees_only_its_own_workflows(page: Page, site: Site) -> None:
    ours = diamond(site, tenant="acme", name="ours")
    theirs = diamond(site, tenant="globex", name="theirs")
    sign_in(page, site, "acme", "/ui/workflows")
    rows = page.locator("#workflows-table tbody tr:not(.empty)")
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-workflow-id", str(ours))
    expect(page.locator("#workflows-table th")).not_to_contain_text(["Tenant"])
    expect(page.locator("#workflow-filter-tenant")).to_have_count(0)

    page.goto(f"{site.url}/ui/workflows/{theirs}")
    expect(page.locator("#workflow-missing")).to_contain_text(f"Workflow #{theirs} was not found")
    expect(page.locator("#cancel-workflow")).to_have_count(0)
    assert site.app.get_workflow(theirs).workflow.state is WorkflowState.RUNNING


def test_the_list_filters_by_state_and_name_and_pages_by_cursor(page: Page, site: Site) -> None:
    task = site.app.get_task("add")
    ids = []
    for n in range(27):
        with site.app.workflow(tenant="acme", name=f"batch-{n % 3}") as wf:
            wf.add(task.prepare(n, n), key="only")
        assert wf.id is not None
        ids.append(wf.id)
    site.app.cancel_workflow(ids[4])
    sign_in(page, site, None, "/ui/workflows")
    rows = page.locator("#workflows-table tbody tr:not(.empty)")
    expect(rows).to_have_count(25)
    expect(page.locator("#page-info")).to_contain_text("Page 1")
    assert rows.first.get_attribute("data-workflow-id") == str(ids[-1])
    page.click("#older")
    expect(page.locator("#page-info")).to_contain_text("Page 2")
    expect(rows).to_have_count(2)
    assert [r.get_attribute("data-workflow-id") for r in rows.all()] == [str(ids[1]), str(ids[0])]
    page.click("#newer")
    expect(rows).to_have_count(25)

    page.select_option("#workflow-filter-state", "cancelled")
    page.click("#apply-workflow-filters")
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-workflow-id", str(ids[4]))
    expect(page).to_have_url(re.compile(r"/ui/workflows\?state=cancelled$"))
    page.click("#reset-workflow-filters")
    page.fill("#workflow-filter-name", "batch-1")
    page.click("#apply-workflow-filters")
    expect(rows).to_have_count(9)
    page.reload()  # the filters live in the address
    expect(page.locator("#workflow-filter-name")).to_have_value("batch-1")
    expect(rows).to_have_count(9)
