// Overview: throughput and wait times over the last hour, queue depths, and each tenant's load.

import { api, BASE } from "../api.js";
import { lines, stackedBars } from "../charts.js";
import { card, emptyRow, fill, formatDuration, formatNumber, h, meter, STATES, WAITING_STATES } from "../dom.js";

const WINDOW = 3600;
const BUCKET = 60;

const THROUGHPUT = [
  { key: "succeeded", label: "Succeeded", className: "c-succeeded" },
  { key: "dead", label: "Dead", className: "c-dead" },
  { key: "cancelled", label: "Cancelled", className: "c-cancelled" },
];
const WAITS = [
  { key: "wait_p50", label: "p50", className: "c-p50" },
  { key: "wait_p95", label: "p95", className: "c-p95" },
];

function sum(items, pick) {
  return items.reduce((total, item) => total + (pick(item) || 0), 0);
}

function statCard(label, value, detail, id, alert = false) {
  return h(
    "div",
    { class: alert ? "stat stat-alert" : "stat", id },
    h("div", { class: "stat-label" }, label),
    h("div", { class: "stat-value" }, value),
    h("div", { class: "stat-detail" }, detail),
  );
}

function waitingDetail(counts) {
  const parts = WAITING_STATES.filter((state) => counts(state)).map((state) => `${formatNumber(counts(state))} ${state}`);
  return parts.length ? parts.join(" · ") : "nothing waiting";
}

function cards(stats, queues) {
  const counts = (state) => sum(queues, (queue) => queue.counts[state]);
  const buckets = stats.buckets;
  const finished = sum(buckets, (bucket) => bucket.finished);
  const dead = sum(buckets, (bucket) => bucket.dead);
  // The last five buckets, the newest still filling: a rate over the time they have covered.
  const recent = buckets.slice(-5);
  const covered = (Date.now() - new Date(recent[0].start).getTime()) / 60000;
  const perMinute = sum(recent, (bucket) => bucket.finished) / Math.max(covered, 1);
  const lastWait = [...buckets].reverse().find((bucket) => bucket.wait_p95 !== null);
  return [
    statCard("Running", formatNumber(counts("running")), "jobs on workers now", "stat-running"),
    statCard("Waiting", formatNumber(sum(WAITING_STATES, counts)), waitingDetail(counts), "stat-waiting"),
    statCard("Finished", formatNumber(finished), `last hour · ${formatNumber(Math.round(perMinute))}/min lately`, "stat-finished"),
    statCard(
      "Dead",
      formatNumber(dead),
      finished ? `last hour · ${((dead / finished) * 100).toFixed(1)}% of finished` : "last hour",
      "stat-dead",
      dead > 0,
    ),
    statCard(
      "Wait p95",
      lastWait ? formatDuration(lastWait.wait_p95) : "–",
      lastWait ? `p50 ${formatDuration(lastWait.wait_p50)} · latest minute with jobs` : "no jobs started lately",
      "stat-wait",
    ),
  ];
}

function queueLink(queue, state, count) {
  if (!count) return h("span", { class: "zero" }, "0");
  const query = new URLSearchParams({ queue: queue.queue, state });
  if (queue.showTenant) query.set("tenant", queue.tenant);
  const path = state === "dead" ? "dead" : "jobs";
  return h("a", { href: `${BASE}/${path}?${query}`, "data-link": true }, formatNumber(count));
}

function queueTable(queues, admin) {
  const head = h(
    "tr",
    null,
    admin && h("th", null, "Tenant"),
    h("th", null, "Queue"),
    STATES.map((state) => h("th", { class: "num" }, h("span", { class: `dot-label state-${state}` }, state))),
  );
  const rows = queues.map((queue) =>
    h(
      "tr",
      null,
      admin && h("td", null, queue.tenant),
      h("td", { class: "strong" }, queue.queue),
      STATES.map((state) => h("td", { class: "num" }, queueLink({ ...queue, showTenant: admin }, state, queue.counts[state]))),
    ),
  );
  const columns = STATES.length + (admin ? 2 : 1);
  return h(
    "div",
    { class: "table-wrap" },
    h("table", { class: "table", id: "queues-table" }, h("thead", null, head), h("tbody", null, rows.length ? rows : emptyRow(columns, "No jobs yet."))),
  );
}

const MAX_TENANTS = 12;

function tenantLoad(all) {
  if (!all.length) return h("p", { class: "muted pad" }, "No tenant has jobs yet.");
  const load = (tenant) => tenant.running + tenant.waiting;
  const tenants = [...all].sort((a, b) => load(b) - load(a) || a.name.localeCompare(b.name));
  const busiest = Math.max(...tenants.map(load), 1);
  return h(
    "ul",
    { class: "tenant-load", id: "tenant-load" },
    tenants.slice(0, MAX_TENANTS).map((tenant) => {
      const running = h("span", { class: "seg seg-running" });
      running.style.width = `${(tenant.running / busiest) * 100}%`;
      const waiting = h("span", { class: "seg seg-waiting" });
      waiting.style.width = `${(tenant.waiting / busiest) * 100}%`;
      return h(
        "li",
        { dataset: { tenant: tenant.name } },
        h("div", { class: "tenant-load-head" }, h("strong", null, tenant.name), tenant.paused && h("span", { class: "pill pill-paused" }, "paused"), h("span", { class: "muted" }, `${formatNumber(tenant.running)} running · ${formatNumber(tenant.waiting)} waiting`)),
        h("div", { class: "stack-bar" }, running, waiting),
        tenant.max_running !== null && meter(tenant.running, tenant.max_running, `${tenant.running} / ${tenant.max_running} max running`),
      );
    }),
  );
}

export const overviewPage = {
  title: "Overview",
  mount(ctx) {
    const statRow = h("div", { class: "stats", id: "stat-cards" });
    const throughput = h("div", { id: "throughput-chart" });
    const waits = h("div", { id: "wait-chart" });
    const queues = h("div");
    const tenants = h("div");
    fill(
      ctx.main,
      statRow,
      h(
        "div",
        { class: "grid-2" },
        card("Throughput", "Jobs finished per minute, last hour", throughput),
        card("Wait time", "From due to started, per minute of finishing, last hour", waits),
      ),
      card("Tenants", "Running and waiting jobs per tenant, busiest first", h("div", { class: "legend-inline" }, h("span", { class: "swatch seg-running" }), "running", h("span", { class: "swatch seg-waiting" }), "waiting"), tenants),
      card("Queues", "Jobs by state in each queue", queues),
    );
    return {
      async refresh() {
        const [stats, queueData, tenantData] = await Promise.all([
          api.get("/v1/stats", { window: WINDOW, bucket: BUCKET }),
          api.get("/v1/queues"),
          api.get("/v1/tenants"),
        ]);
        fill(statRow, cards(stats, queueData.queues));
        fill(
          throughput,
          stackedBars({
            buckets: stats.buckets,
            bucketSeconds: stats.bucket,
            series: THROUGHPUT,
            format: (value) => formatNumber(Math.round(value * 10) / 10),
            emptyText: "No jobs finished in the last hour.",
          }),
        );
        fill(
          waits,
          lines({
            buckets: stats.buckets,
            bucketSeconds: stats.bucket,
            series: WAITS,
            format: formatDuration,
            emptyText: "No jobs started in the last hour.",
          }),
        );
        fill(queues, queueTable(queueData.queues, ctx.me.admin));
        fill(tenants, tenantLoad(tenantData.tenants));
      },
    };
  },
};
