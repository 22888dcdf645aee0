// Dead jobs: retry or cancel one at a time, or redrive many by filter after a dry-run count.

import { api } from "../api.js";
import { card, fill, formatNumber, h, relativeTime, toast } from "../dom.js";
import { jobTable, Pager } from "./jobs.js";

const PAGE_SIZE = 25;

function field(label, control) {
  return h("label", { class: "field" }, h("span", null, label), control);
}

function isoOrNull(local) {
  return local ? new Date(local).toISOString() : null;
}

/** The redrive request the form describes (empty fields match anything). */
function redriveBody(form) {
  const data = new FormData(form);
  const body = { action: data.get("action") };
  for (const name of ["task", "error_type", "queue", "tenant"]) {
    const value = (data.get(name) || "").trim();
    if (value) body[name] = value;
  }
  const after = isoOrNull(data.get("finished_after"));
  const before = isoOrNull(data.get("finished_before"));
  if (after) body.finished_after = after;
  if (before) body.finished_before = before;
  return body;
}

function describe(body) {
  const parts = [];
  if (body.task) parts.push(`task ${body.task}`);
  if (body.error_type) parts.push(`error ${body.error_type}`);
  if (body.queue) parts.push(`queue ${body.queue}`);
  if (body.tenant) parts.push(`tenant ${body.tenant}`);
  if (body.finished_after) parts.push("died after the start time");
  if (body.finished_before) parts.push("died before the end time");
  return parts.length ? parts.join(", ") : "every dead job";
}

class Redrive {
  constructor(ctx, onDone) {
    this.ctx = ctx;
    this.onDone = onDone;
    this.pending = null;
    this.result = h("div", { class: "redrive-result", id: "redrive-result" });
    this.form = this.buildForm();
    this.element = card(
      "Bulk redrive",
      "Retry (requeue) or cancel (discard) every dead job that matches. Preview first: nothing changes until you confirm.",
      this.form,
      this.result,
    );
  }

  buildForm() {
    const input = (name, placeholder = "any") => h("input", { name, id: `redrive-${name.replace("_", "-")}`, placeholder, spellcheck: "false" });
    const time = (name) => h("input", { name, id: `redrive-${name.replace("_", "-")}`, type: "datetime-local", step: "1" });
    const action = h(
      "select",
      { name: "action", id: "redrive-action" },
      h("option", { value: "retry" }, "Retry (requeue)"),
      h("option", { value: "cancel" }, "Cancel (discard)"),
    );
    const form = h(
      "form",
      { class: "filters", id: "redrive-form" },
      field("Task", input("task")),
      field("Error type", input("error_type", "e.g. ValueError")),
      field("Queue", input("queue")),
      this.ctx.me.admin && field("Tenant", input("tenant")),
      field("Died after", time("finished_after")),
      field("Died before", time("finished_before")),
      field("Action", action),
      h("div", { class: "filter-actions" }, h("button", { class: "btn", type: "submit", id: "redrive-preview" }, "Preview")),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.preview();
    });
    form.addEventListener("input", () => this.clear());
    return form;
  }

  clear() {
    this.pending = null;
    fill(this.result);
  }

  async preview() {
    const body = redriveBody(this.form);
    try {
      const answer = await api.post("/v1/jobs/redrive", { ...body, dry_run: true });
      this.showPreview(body, answer.count);
    } catch (error) {
      toast(error.message, "error");
    }
  }

  showPreview(body, count) {
    const verb = body.action === "retry" ? "Retry" : "Cancel";
    if (!count) {
      this.pending = null;
      fill(this.result, h("p", { class: "muted", id: "redrive-count", dataset: { count: 0 } }, `No dead jobs match (${describe(body)}).`));
      return;
    }
    this.pending = body;
    const noun = count === 1 ? "dead job matches" : "dead jobs match";
    fill(
      this.result,
      h("p", { id: "redrive-count", dataset: { count } }, h("strong", null, formatNumber(count)), ` ${noun}: ${describe(body)}.`),
      h(
        "div",
        { class: "actions" },
        h("button", { class: body.action === "retry" ? "btn btn-primary" : "btn btn-danger", type: "button", id: "redrive-confirm", onclick: () => this.confirm() }, `${verb} ${formatNumber(count)} job${count === 1 ? "" : "s"}`),
        h("button", { class: "btn btn-ghost", type: "button", id: "redrive-dismiss", onclick: () => this.clear() }, "Dismiss"),
      ),
    );
  }

  async confirm() {
    const body = this.pending;
    if (!body) return;
    this.clear();
    try {
      const answer = await api.post("/v1/jobs/redrive", { ...body, dry_run: false });
      const verb = body.action === "retry" ? "Requeued" : "Cancelled";
      toast(`${verb} ${formatNumber(answer.count)} dead job${answer.count === 1 ? "" : "s"}`);
      fill(this.result, h("p", { class: "ok-text", id: "redrive-done" }, `${verb} ${formatNumber(answer.count)} job${answer.count === 1 ? "" : "s"}.`));
      this.onDone();
    } catch (error) {
      toast(error.message, "error");
    }
  }
}

/** ``action`` is "retry" (requeue) or "discard" (cancel: the dead job never runs again). */
async function act(job, action, done) {
  try {
    await api.post(`/v1/jobs/${job.id}/${action}`);
    toast(action === "retry" ? `Job #${job.id} requeued` : `Job #${job.id} cancelled`);
  } catch (error) {
    toast(error.message, "error");
  }
  done();
}

function lastError(job) {
  const error = job.errors[job.errors.length - 1];
  if (!error) return h("span", { class: "muted" }, "–");
  return h("span", { class: "last-error", title: error.message }, h("span", { class: "error-type" }, error.type), " ", error.message);
}

export const deadPage = {
  title: "Dead jobs",
  mount(ctx) {
    const results = h("div");
    const pager = new Pager(() => ctx.refresh());
    const redrive = new Redrive(ctx, () => ctx.refresh());
    const rowActions = (job) => [
      h("td", { class: "cell-error" }, lastError(job)),
      h("td", { class: "muted" }, relativeTime(job.finished_at)),
      h(
        "td",
        { class: "row-actions" },
        h("button", { class: "btn btn-sm", type: "button", dataset: { action: "retry" }, onclick: () => act(job, "retry", ctx.refresh) }, "Retry"),
        h("button", { class: "btn btn-sm btn-danger-ghost", type: "button", dataset: { action: "cancel" }, title: "Cancel this dead job: it will never run again", onclick: () => act(job, "discard", ctx.refresh) }, "Cancel"),
      ),
    ];
    const query = new URLSearchParams(window.location.search);
    const filters = { queue: query.get("queue"), tenant: ctx.me.admin ? query.get("tenant") : null };
    fill(ctx.main, redrive.element, card("Dead jobs", "Every attempt failed: these run again only if you retry them", results, pager.element));
    return {
      async refresh() {
        const page = await api.get("/v1/jobs", { state: "dead", ...filters, limit: PAGE_SIZE, cursor: pager.cursor });
        const table = jobTable(page.jobs, ctx.me.admin, {
          id: "dead-table",
          state: false,
          activity: false,
          extraHead: [h("th", null, "Last error"), h("th", null, "Died"), h("th", { class: "row-actions" }, "")],
          extraCells: rowActions,
          empty: "No dead jobs.",
        });
        fill(results, table);
        pager.update(page.next_cursor, page.jobs.length);
      },
    };
  },
};
