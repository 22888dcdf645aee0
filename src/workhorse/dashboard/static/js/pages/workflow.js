// One workflow: its graph of steps drawn by depth (each step linked to its job), the steps' table,
// and the Cancel and Retry failed actions.

import { api, ApiError, BASE } from "../api.js";
import { card, fill, formatDateTime, formatDuration, h, relativeTime, s, statePill, toast } from "../dom.js";
import { stepsSummary } from "./workflows.js";

const NODE_W = 176;
const NODE_H = 44;
const GAP_X = 56;
const GAP_Y = 14;
const PAD = 12;
const LABEL_CHARS = 24;

/** Each step's depth: 0 for a step with no parents, else one more than its deepest parent. */
function depths(steps) {
  const byId = new Map(steps.map((step) => [step.job_id, step]));
  const depth = new Map();
  const of = (id) => {
    if (depth.has(id)) return depth.get(id);
    depth.set(id, 0); // a graph has no cycle; this only guards against a malformed one
    const parents = byId.get(id).after.filter((parent) => byId.has(parent));
    const value = parents.length ? 1 + Math.max(...parents.map(of)) : 0;
    depth.set(id, value);
    return value;
  };
  for (const step of steps) of(step.job_id);
  return depth;
}

/** Where each step's box goes: a column per depth, left to right, each column centred. */
export function layout(steps) {
  const depth = depths(steps);
  const columns = [];
  for (const step of steps) (columns[depth.get(step.job_id)] ||= []).push(step);
  const tallest = Math.max(1, ...columns.map((column) => column.length));
  const place = new Map();
  columns.forEach((column, d) => {
    const offset = ((tallest - column.length) * (NODE_H + GAP_Y)) / 2;
    column.forEach((step, row) => place.set(step.job_id, { x: PAD + d * (NODE_W + GAP_X), y: PAD + offset + row * (NODE_H + GAP_Y) }));
  });
  return {
    place,
    width: 2 * PAD + columns.length * (NODE_W + GAP_X) - GAP_X,
    height: 2 * PAD + tallest * (NODE_H + GAP_Y) - GAP_Y,
  };
}

function clip(text) {
  return text.length > LABEL_CHARS ? `${text.slice(0, LABEL_CHARS - 1)}…` : text;
}

function stepName(step) {
  return step.key === null ? `#${step.job_id}` : step.key;
}

function edge(from, to, state) {
  const x1 = from.x + NODE_W;
  const y1 = from.y + NODE_H / 2;
  const x2 = to.x;
  const y2 = to.y + NODE_H / 2;
  const bend = GAP_X / 2;
  return s("path", { class: `wf-edge wf-edge-${state}`, d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}` });
}

function node(step, at) {
  return s(
    "a",
    { href: `${BASE}/jobs/${step.job_id}`, "data-link": true, class: "wf-node", dataset: { step: stepName(step), state: step.state, jobId: step.job_id } },
    s("title", null, `${stepName(step)} · ${step.task} · ${step.state} (job #${step.job_id})`),
    s("rect", { class: `wf-box wf-${step.state}`, x: at.x, y: at.y, width: NODE_W, height: NODE_H, rx: 6 }),
    s("text", { class: "wf-key", x: at.x + 10, y: at.y + 18 }, clip(stepName(step))),
    s("text", { class: "wf-state", x: at.x + 10, y: at.y + 34 }, clip(`${step.state} · ${step.task}`)),
  );
}

/** The graph: a box per step (coloured by state, linked to its job), an arrow per dependency. */
export function graph(steps) {
  const { place, width, height } = layout(steps);
  const byId = new Map(steps.map((step) => [step.job_id, step]));
  const edges = steps.flatMap((step) =>
    step.after.filter((parent) => byId.has(parent)).map((parent) => edge(place.get(parent), place.get(step.job_id), byId.get(parent).state)),
  );
  return h(
    "div",
    { class: "wf-graph-wrap" },
    s(
      "svg",
      { id: "workflow-graph", class: "wf-graph", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "The workflow's steps and their dependencies" },
      s("g", { class: "wf-edges" }, edges),
      s("g", { class: "wf-nodes" }, steps.map((step) => node(step, place.get(step.job_id)))),
    ),
  );
}

function stepsTable(steps) {
  const names = new Map(steps.map((step) => [step.job_id, stepName(step)]));
  const time = (iso) => (iso ? relativeTime(iso) : h("span", { class: "muted" }, "–"));
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table table-hover", id: "steps-table" },
      h("thead", null, h("tr", null, h("th", null, "Step"), h("th", null, "Job"), h("th", null, "Task"), h("th", null, "State"), h("th", null, "After"), h("th", null, "Started"), h("th", null, "Finished"))),
      h(
        "tbody",
        null,
        steps.map((step) =>
          h(
            "tr",
            { dataset: { step: stepName(step), state: step.state } },
            h("td", { class: "strong" }, stepName(step)),
            h("td", { class: "mono" }, h("a", { href: `${BASE}/jobs/${step.job_id}`, "data-link": true, class: "job-link" }, `#${step.job_id}`)),
            h("td", { class: "mono" }, step.task),
            h("td", null, statePill(step.state)),
            h("td", { class: "muted" }, step.after.map((id) => names.get(id) || `#${id}`).join(", ") || "–"),
            h("td", null, time(step.started_at)),
            h("td", null, time(step.finished_at)),
          ),
        ),
      ),
    ),
  );
}

function details(workflow) {
  const property = (label, value) => h("div", { class: "prop" }, h("dt", null, label), h("dd", null, value));
  const took = workflow.finished_at && (new Date(workflow.finished_at) - new Date(workflow.created_at)) / 1000;
  return h(
    "dl",
    { class: "props", id: "workflow-details" },
    property("Name", workflow.name),
    property("Tenant", workflow.tenant),
    property("Steps", stepsSummary(workflow)),
    property("Created", formatDateTime(workflow.created_at, true)),
    property("Finished", workflow.finished_at ? formatDateTime(workflow.finished_at, true) : h("span", { class: "muted" }, "–")),
    property("Took", took === null || took === undefined ? h("span", { class: "muted" }, "–") : formatDuration(took)),
  );
}

/** ``action``: "cancel" the steps that have not ended, or "retry" the dead ones. */
async function act(ctx, workflow, action) {
  try {
    await api.post(`/v1/workflows/${workflow.id}/${action}`);
    toast(action === "retry" ? `Workflow #${workflow.id}: failed steps requeued` : `Workflow #${workflow.id} cancelled`);
  } catch (error) {
    toast(error.message, "error");
  }
  ctx.refresh();
}

function actions(ctx, workflow) {
  return h(
    "div",
    { class: "actions" },
    workflow.steps_dead > 0 && h("button", { class: "btn btn-primary", type: "button", id: "retry-workflow", title: "Requeue the dead steps; the steps they cancelled run again", onclick: () => act(ctx, workflow, "retry") }, "Retry failed"),
    workflow.state === "running" && h("button", { class: "btn btn-danger-ghost", type: "button", id: "cancel-workflow", onclick: () => act(ctx, workflow, "cancel") }, "Cancel"),
  );
}

function render(ctx, workflow) {
  return [
    h(
      "div",
      { class: "page-head" },
      h("a", { href: `${BASE}/workflows`, "data-link": true, class: "back" }, "← Workflows"),
      h("div", { class: "page-head-row" }, h("h2", { class: "workflow-title" }, `#${workflow.id} `, h("span", null, workflow.name)), h("span", { id: "workflow-state" }, statePill(workflow.state)), h("div", { class: "spacer" }), actions(ctx, workflow)),
    ),
    card("Details", null, details(workflow)),
    card("Graph", "Each step after the steps it waits for; click a step for its job", graph(workflow.steps)),
    card("Steps", null, stepsTable(workflow.steps)),
  ];
}

export const workflowPage = {
  title: "Workflow",
  mount(ctx) {
    let shown = null;
    return {
      async refresh() {
        try {
          const workflow = await api.get(`/v1/workflows/${ctx.args.id}`);
          const text = JSON.stringify(workflow);
          if (text === shown) return;
          shown = text;
          ctx.setTitle(`Workflow #${workflow.id}`);
          fill(ctx.main, render(ctx, workflow));
        } catch (error) {
          if (!(error instanceof ApiError) || error.status !== 404) throw error;
          shown = null;
          fill(ctx.main, h("div", { class: "notice", id: "workflow-missing" }, `Workflow #${ctx.args.id} was not found. `, h("a", { href: `${BASE}/workflows`, "data-link": true }, "Back to workflows")));
        }
      },
    };
  },
};
