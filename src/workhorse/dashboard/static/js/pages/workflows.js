// Workflows: the list with filters (state, name and, for admins, tenant) and cursor pages.

import { BASE } from "../api.js";
import { emptyRow, formatNumber, h, relativeTime, statePill } from "../dom.js";
import { filteredList } from "./jobs.js";

export const WORKFLOW_STATES = ["running", "succeeded", "failed", "cancelled"];

function filterForm(ctx, filters, apply) {
  const field = (label, control) => h("label", { class: "field" }, h("span", null, label), control);
  const state = h(
    "select",
    { name: "state", id: "workflow-filter-state" },
    h("option", { value: "" }, "Any state"),
    WORKFLOW_STATES.map((value) => h("option", { value, selected: filters.state === value }, value)),
  );
  const input = (name) => h("input", { name, id: `workflow-filter-${name}`, value: filters[name] || "", placeholder: "any", spellcheck: "false" });
  const form = h(
    "form",
    { class: "filters", id: "workflow-filters" },
    field("State", state),
    field("Name", input("name")),
    ctx.me.admin && field("Tenant", input("tenant")),
    h(
      "div",
      { class: "filter-actions" },
      h("button", { class: "btn btn-primary", type: "submit", id: "apply-workflow-filters" }, "Apply"),
      h("button", { class: "btn btn-ghost", type: "button", id: "reset-workflow-filters", onclick: () => { for (const control of form.elements) if (control.name) control.value = ""; apply({}); } }, "Reset"),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply(Object.fromEntries([...new FormData(form)].filter(([, value]) => value !== "")));
  });
  return form;
}

/** "3 / 5 done", with the dead and cancelled steps when there are any. */
export function stepsSummary(workflow) {
  const done = workflow.steps_total - workflow.steps_left;
  const parts = [`${formatNumber(done)} / ${formatNumber(workflow.steps_total)} ended`];
  if (workflow.steps_dead) parts.push(`${formatNumber(workflow.steps_dead)} dead`);
  if (workflow.steps_cancelled) parts.push(`${formatNumber(workflow.steps_cancelled)} cancelled`);
  return parts.join(" · ");
}

function workflowRow(workflow, admin) {
  return h(
    "tr",
    { dataset: { workflowId: workflow.id, state: workflow.state } },
    h("td", { class: "mono" }, h("a", { href: `${BASE}/workflows/${workflow.id}`, "data-link": true, class: "workflow-link" }, `#${workflow.id}`)),
    h("td", { class: "strong" }, workflow.name),
    admin && h("td", null, workflow.tenant),
    h("td", null, statePill(workflow.state)),
    h("td", null, stepsSummary(workflow)),
    h("td", { class: "muted" }, workflow.finished_at ? h("span", null, "finished ", relativeTime(workflow.finished_at)) : h("span", null, "created ", relativeTime(workflow.created_at))),
  );
}

function workflowTable(workflows, admin) {
  const head = h("tr", null, h("th", null, "Workflow"), h("th", null, "Name"), admin && h("th", null, "Tenant"), h("th", null, "State"), h("th", null, "Steps"), h("th", null, "Activity"));
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table table-hover", id: "workflows-table" },
      h("thead", null, head),
      h("tbody", null, workflows.length ? workflows.map((workflow) => workflowRow(workflow, admin)) : emptyRow(admin ? 6 : 5, "No workflows match.")),
    ),
  );
}

function readFilters(admin) {
  const params = new URLSearchParams(window.location.search);
  const filters = {};
  for (const name of ["state", "name", "tenant"]) {
    if (params.get(name) && (admin || name !== "tenant")) filters[name] = params.get(name);
  }
  return filters;
}

export const workflowsPage = {
  title: "Workflows",
  mount(ctx) {
    return filteredList(ctx, {
      title: "Workflows",
      path: "workflows",
      filters: readFilters(ctx.me.admin),
      form: filterForm,
      table: (workflows) => workflowTable(workflows, ctx.me.admin),
    });
  },
};
