// One job: its arguments, result, each failed attempt with its traceback, and a timeline.

import { api, ApiError, BASE } from "../api.js";
import {
  card,
  fill,
  formatDateTime,
  formatDuration,
  h,
  json,
  relativeTime,
  statePill,
  toast,
} from "../dom.js";

const TERMINAL = new Set(["succeeded", "dead", "cancelled"]);

function ms(iso) {
  return new Date(iso).getTime();
}

function seconds(from, to) {
  return (ms(to) - ms(from)) / 1000;
}

/** When the job became due: its run_at, or its creation when it was due at once. */
function dueAt(job) {
  return ms(job.run_at) > ms(job.created_at) ? job.run_at : job.created_at;
}

function property(label, value) {
  return h("div", { class: "prop" }, h("dt", null, label), h("dd", null, value));
}

function properties(job) {
  const none = () => h("span", { class: "muted" }, "–");
  return h(
    "dl",
    { class: "props" },
    property("Task", h("span", { class: "mono" }, job.task)),
    property("Tenant", job.tenant),
    property("Queue", job.queue),
    property("Priority", String(job.priority)),
    property("Attempts", `${job.attempts} of ${job.max_attempts}`),
    property("Timeout", job.timeout === null ? none() : formatDuration(job.timeout)),
    property("Unique key", job.unique_key === null ? none() : h("span", { class: "mono" }, job.unique_key)),
    property("Concurrency key", job.concurrency_key === null ? none() : h("span", { class: "mono" }, job.concurrency_key)),
    property("Worker", job.worker_id === null ? none() : h("span", { class: "mono" }, job.worker_id)),
    job.workflow_id !== null && property("Workflow", workflowLink(job)),
    job.cancel_reason !== null && property("Cancelled because", h("span", { id: "cancel-reason" }, job.cancel_reason)),
  );
}

/** "#12 · step resize-3", linked to the workflow's page. */
function workflowLink(job) {
  const text = job.step_key === null ? `#${job.workflow_id}` : `#${job.workflow_id} · step ${job.step_key}`;
  return h("a", { href: `${BASE}/workflows/${job.workflow_id}`, "data-link": true, id: "job-workflow" }, text);
}

function timelineEvents(job) {
  const events = [{ key: "created", label: "Created", at: job.created_at }];
  if (ms(job.run_at) !== ms(job.created_at)) {
    events.push({ key: "run_at", label: job.attempts > 1 ? "Last attempt due" : "Due", at: job.run_at });
  }
  if (job.started_at) events.push({ key: "started", label: "Started", at: job.started_at });
  if (job.finished_at) events.push({ key: "finished", label: "Finished", at: job.finished_at });
  return events.sort((a, b) => ms(a.at) - ms(b.at));
}

function timelineBar(job, events) {
  const now = new Date().toISOString();
  const start = ms(events[0].at);
  const end = Math.max(ms(events[events.length - 1].at), job.finished_at ? 0 : Date.now());
  const span = Math.max(end - start, 1);
  const segment = (className, from, to, label) => {
    const element = h("span", { class: `tl-seg ${className}`, title: label });
    element.style.left = `${((ms(from) - start) / span) * 100}%`;
    element.style.width = `${Math.max(((ms(to) - ms(from)) / span) * 100, 0.6)}%`;
    return element;
  };
  const due = dueAt(job);
  const waitedUntil = job.started_at || job.finished_at || now;
  const parts = [];
  if (ms(due) > ms(job.created_at)) {
    const until = ms(due) < ms(waitedUntil) ? due : waitedUntil;
    parts.push(segment("tl-scheduled", job.created_at, until, "until due"));
  }
  if (ms(waitedUntil) > ms(due)) parts.push(segment("tl-wait", due, waitedUntil, "waiting"));
  if (job.started_at) {
    parts.push(segment(`tl-run tl-${job.state}`, job.started_at, job.finished_at || now, "running"));
  }
  return h("div", { class: "tl-bar" }, parts);
}

function timeline(job) {
  const events = timelineEvents(job);
  const durations = [];
  if (job.started_at) {
    const waited = Math.max(0, seconds(dueAt(job), job.started_at));
    durations.push(h("span", null, "Waited ", h("strong", null, formatDuration(waited))));
  }
  if (job.started_at && job.finished_at) {
    durations.push(h("span", null, "Ran ", h("strong", null, formatDuration(seconds(job.started_at, job.finished_at)))));
  }
  if (job.finished_at) {
    durations.push(h("span", null, "Total ", h("strong", null, formatDuration(seconds(job.created_at, job.finished_at)))));
  }
  return h(
    "div",
    { class: "timeline", id: "timeline" },
    timelineBar(job, events),
    h(
      "ol",
      { class: "tl-events" },
      events.map((event) =>
        h(
          "li",
          { dataset: { event: event.key } },
          h("span", { class: `tl-dot tl-dot-${event.key} tl-dot-${job.state}` }),
          h("span", { class: "tl-label" }, event.label),
          h("span", { class: "tl-time" }, formatDateTime(event.at, true)),
          h("span", { class: "muted" }, relativeTime(event.at)),
        ),
      ),
    ),
    durations.length > 0 && h("div", { class: "tl-durations" }, durations),
  );
}

function bytes(value) {
  if (value === null || value === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${size} B` : `${size.toFixed(1)} ${units[unit]}`;
}

function cpu(value) {
  return value === null || value === undefined ? "–" : formatDuration(value);
}

/** What each attempt consumed (wall, CPU, peak memory, slots), and the totals. */
function usage(job) {
  if (!job.attempt_usage.length) return h("p", { class: "muted pad" }, "No attempt has ended.");
  const row = (label, used, slots) =>
    h("tr", null, h("td", null, label), h("td", null, formatDuration(used.wall_seconds)), h("td", null, cpu(used.cpu_seconds)), h("td", null, bytes(used.max_rss_bytes)), h("td", null, slots));
  return h(
    "table",
    { class: "table", id: "job-usage" },
    h("thead", null, h("tr", null, h("th", null, "Attempt"), h("th", null, "Wall"), h("th", null, "CPU"), h("th", null, "Peak memory"), h("th", null, "Slots"))),
    h(
      "tbody",
      null,
      job.attempt_usage.map((used) => row(String(used.attempt), used, String(used.slots))),
      row("Total", job.usage, ""),
    ),
  );
}

function jsonBlock(title, value, id) {
  const empty = value === null || value === undefined || (Array.isArray(value) && value.length === 0) || (typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0);
  return h(
    "div",
    { class: "json-block", id },
    h("h3", null, title),
    empty ? h("p", { class: "muted" }, value === null || value === undefined ? "none" : "empty") : h("pre", { class: "code" }, json(value)),
  );
}

function attemptErrors(job, opened) {
  if (!job.errors.length) return h("p", { class: "muted pad" }, "No attempt has failed.");
  return h(
    "ol",
    { class: "attempts", id: "attempts" },
    [...job.errors].reverse().map((error) => {
      const details = h(
        "details",
        { class: "traceback", open: opened.has(error.attempt), ontoggle: () => (details.open ? opened.add(error.attempt) : opened.delete(error.attempt)) },
        h("summary", null, "Traceback"),
        h("pre", { class: "code" }, error.traceback || "(no traceback)"),
      );
      return h(
        "li",
        { class: "attempt", dataset: { attempt: error.attempt } },
        h(
          "div",
          { class: "attempt-head" },
          h("span", { class: "attempt-no" }, `Attempt ${error.attempt}`),
          h("span", { class: "error-type" }, error.type),
          h("span", { class: "muted" }, formatDateTime(error.at, true)),
        ),
        h("p", { class: "error-message" }, error.message),
        details,
      );
    }),
  );
}

/** ``action``: "retry" a dead job, "cancel" one that has not ended, or "discard" a dead one. */
async function act(ctx, job, action, done) {
  try {
    const changed = await api.post(`/v1/jobs/${job.id}/${action}`);
    toast(action === "retry" ? `Job #${job.id} requeued` : `Job #${job.id} cancelled`);
    done(changed);
  } catch (error) {
    toast(error.message, "error");
  }
}

function actions(ctx, job, done) {
  return h(
    "div",
    { class: "actions" },
    job.state === "dead" && h("button", { class: "btn btn-primary", type: "button", id: "retry-job", onclick: () => act(ctx, job, "retry", done) }, "Retry"),
    job.state === "dead" && h("button", { class: "btn btn-danger-ghost", type: "button", id: "discard-job", title: "Cancel this dead job: it will never run again", onclick: () => act(ctx, job, "discard", done) }, "Cancel"),
    !TERMINAL.has(job.state) && h("button", { class: "btn btn-danger-ghost", type: "button", id: "cancel-job", onclick: () => act(ctx, job, "cancel", done) }, "Cancel"),
  );
}

function render(ctx, job, opened, done) {
  return [
    h(
      "div",
      { class: "page-head" },
      h("a", { href: `${BASE}/jobs`, "data-link": true, class: "back" }, "← Jobs"),
      h("div", { class: "page-head-row" }, h("h2", { class: "job-title" }, `#${job.id} `, h("span", { class: "mono" }, job.task)), statePill(job.state), h("div", { class: "spacer" }), actions(ctx, job, done)),
    ),
    h(
      "div",
      { class: "grid-2 grid-wide-right" },
      card("Details", null, properties(job)),
      card("Timeline", "Created, due, started and finished", timeline(job)),
    ),
    card(
      "Data",
      null,
      h("div", { class: "grid-json" }, jsonBlock("Arguments", job.args, "job-args"), jsonBlock("Keyword arguments", job.kwargs, "job-kwargs"), jsonBlock("Result", job.result, "job-result"), job.progress !== null && jsonBlock("Progress", job.progress, "job-progress")),
    ),
    card("Usage", "What each attempt consumed", usage(job)),
    card("Failed attempts", "Newest first, each with its error and traceback", attemptErrors(job, opened)),
  ];
}

export const jobPage = {
  title: "Job",
  mount(ctx) {
    const opened = new Set();
    let shown = null;
    const show = (job) => {
      const text = JSON.stringify(job);
      if (text === shown) return;
      shown = text;
      ctx.setTitle(`Job #${job.id}`);
      fill(ctx.main, render(ctx, job, opened, show));
    };
    return {
      async refresh() {
        try {
          show(await api.get(`/v1/jobs/${ctx.args.id}`));
        } catch (error) {
          if (!(error instanceof ApiError) || error.status !== 404) throw error;
          shown = null;
          fill(ctx.main, h("div", { class: "notice", id: "job-missing" }, `Job #${ctx.args.id} was not found. `, h("a", { href: `${BASE}/jobs`, "data-link": true }, "Back to jobs")));
        }
      },
    };
  },
};
