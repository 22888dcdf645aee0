// Jobs: the list with filters (state, queue, task and, for admins, tenant) and cursor pages.

import { api, BASE } from "../api.js";
import { card, emptyRow, fill, formatNumber, h, relativeTime, STATES, statePill } from "../dom.js";

const PAGE_SIZE = 25;

/** Pages through a cursor-paginated list; remembers the cursors of the pages before. */
export class Pager {
  constructor(onChange) {
    this.cursor = null;
    this.previous = [];
    this.next = null;
    this.onChange = onChange;
    this.element = h("div", { class: "pager" });
  }

  reset() {
    this.cursor = null;
    this.previous = [];
  }

  update(nextCursor, shown) {
    this.next = nextCursor;
    const page = this.previous.length + 1;
    fill(
      this.element,
      h("span", { class: "muted", id: "page-info" }, `Page ${page} · ${formatNumber(shown)} shown`),
      h("div", { class: "spacer" }),
      h("button", { class: "btn btn-sm", type: "button", id: "newer", disabled: !this.previous.length, onclick: () => this.back() }, "← Newer"),
      h("button", { class: "btn btn-sm", type: "button", id: "older", disabled: !nextCursor, onclick: () => this.forward() }, "Older →"),
    );
  }

  forward() {
    if (!this.next) return;
    this.previous.push(this.cursor);
    this.cursor = this.next;
    this.onChange();
  }

  back() {
    if (!this.previous.length) return;
    this.cursor = this.previous.pop();
    this.onChange();
  }
}

function filterForm(ctx, filters, apply) {
  const field = (name, label, control) => h("label", { class: "field" }, h("span", null, label), control);
  const state = h(
    "select",
    { name: "state", id: "filter-state" },
    h("option", { value: "" }, "Any state"),
    STATES.map((value) => h("option", { value, selected: filters.state === value }, value)),
  );
  const input = (name) => h("input", { name, id: `filter-${name}`, value: filters[name] || "", placeholder: "any", spellcheck: "false" });
  const form = h(
    "form",
    { class: "filters", id: "job-filters" },
    field("state", "State", state),
    field("queue", "Queue", input("queue")),
    field("task", "Task", input("task")),
    ctx.me.admin && field("tenant", "Tenant", input("tenant")),
    h(
      "div",
      { class: "filter-actions" },
      h("button", { class: "btn btn-primary", type: "submit", id: "apply-filters" }, "Apply"),
      h("button", { class: "btn btn-ghost", type: "button", id: "reset-filters", onclick: () => { form.reset(); for (const control of form.elements) if (control.name) control.value = ""; apply({}); } }, "Reset"),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = Object.fromEntries([...new FormData(form)].filter(([, value]) => value !== ""));
    apply(data);
  });
  return form;
}

function attempts(job) {
  return `${job.attempts} / ${job.max_attempts}`;
}

function lastActivity(job) {
  if (job.finished_at) return h("span", null, "finished ", relativeTime(job.finished_at));
  if (job.started_at && job.state === "running") return h("span", null, "started ", relativeTime(job.started_at));
  if (job.state === "scheduled" || job.state === "retrying") return h("span", null, "due ", relativeTime(job.run_at));
  return h("span", null, "created ", relativeTime(job.created_at));
}

function jobRow(job, admin, options) {
  const link = `${BASE}/jobs/${job.id}`;
  return h(
    "tr",
    { dataset: { jobId: job.id, state: job.state } },
    h("td", { class: "mono" }, h("a", { href: link, "data-link": true, class: "job-link" }, `#${job.id}`)),
    h("td", { class: "strong" }, job.task),
    admin && h("td", null, job.tenant),
    h("td", null, job.queue),
    options.state && h("td", null, statePill(job.state)),
    h("td", { class: "num" }, attempts(job)),
    options.activity && h("td", { class: "muted" }, lastActivity(job)),
    options.extraCells(job),
  );
}

/**
 * A table of jobs. ``state`` and ``activity`` columns can be left out; ``extraHead`` and
 * ``extraCells(job)`` add columns at the end.
 */
export function jobTable(jobs, admin, options = {}) {
  const opts = { state: true, activity: true, extraHead: [], extraCells: () => [], empty: "No jobs match.", ...options };
  const head = h(
    "tr",
    null,
    h("th", null, "Job"),
    h("th", null, "Task"),
    admin && h("th", null, "Tenant"),
    h("th", null, "Queue"),
    opts.state && h("th", null, "State"),
    h("th", { class: "num" }, "Attempts"),
    opts.activity && h("th", null, "Activity"),
    opts.extraHead,
  );
  const columns = 4 + [admin, opts.state, opts.activity].filter(Boolean).length + opts.extraHead.length;
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table table-hover", id: opts.id },
      h("thead", null, head),
      h("tbody", null, jobs.length ? jobs.map((job) => jobRow(job, admin, opts)) : emptyRow(columns, opts.empty)),
    ),
  );
}

function readFilters() {
  const params = new URLSearchParams(window.location.search);
  const filters = {};
  for (const name of ["state", "queue", "task", "tenant"]) {
    if (params.get(name)) filters[name] = params.get(name);
  }
  return filters;
}

/** A list page of `/v1/${path}`, newest first: ``form(ctx, filters, apply)`` draws its filters,
 * which the page's URL keeps (a reload or a shared link shows the same list), and ``table`` draws
 * one page of the rows the answer holds under ``path``; a pager walks the cursor pages. */
export function filteredList(ctx, { title, path, filters, form, table }) {
  let current = filters;
  const results = h("div");
  const pager = new Pager(() => ctx.refresh());
  const apply = (next) => {
    current = next;
    pager.reset();
    const query = new URLSearchParams(next).toString();
    window.history.replaceState(null, "", `${BASE}/${path}${query ? `?${query}` : ""}`);
    ctx.refresh();
  };
  fill(ctx.main, card(title, "Newest first", form(ctx, current, apply), results, pager.element));
  return {
    async refresh() {
      const page = await api.get(`/v1/${path}`, { ...current, limit: PAGE_SIZE, cursor: pager.cursor });
      fill(results, table(page[path]));
      pager.update(page.next_cursor, page[path].length);
    },
  };
}

export const jobsPage = {
  title: "Jobs",
  mount(ctx) {
    const filters = readFilters();
    if (!ctx.me.admin) delete filters.tenant;
    return filteredList(ctx, {
      title: "Jobs",
      path: "jobs",
      filters,
      form: filterForm,
      table: (jobs) => jobTable(jobs, ctx.me.admin, { id: "jobs-table" }),
    });
  },
};
