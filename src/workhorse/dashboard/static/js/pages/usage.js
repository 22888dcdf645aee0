// Usage: what each tenant consumed per hour, and the tenants and tasks that cost the most.

import { api } from "../api.js";
import { stackedBars } from "../charts.js";
import { card, emptyRow, fill, formatDuration, formatNumber, h } from "../dom.js";

const WINDOW = 86400;
const HOUR = 3600;
const SHOWN = 5;

function cost(value) {
  return value.toFixed(value >= 100 ? 0 : 4);
}

/** Hourly buckets over the window, worker-seconds per tenant: the costliest SHOWN, the rest as "other". */
function hourly(body) {
  const costly = body.totals.slice(0, SHOWN).map((total) => total.key);
  const series = costly.map((key, index) => ({ key: `t${index}`, label: key, className: `c-u${index}` }));
  series.push({ key: "other", label: "other", className: "c-uother" });
  const first = Math.floor(new Date(body.since).getTime() / (HOUR * 1000)) * HOUR * 1000;
  const buckets = [];
  for (let start = first; start <= new Date(body.until).getTime(); start += HOUR * 1000) {
    buckets.push({ start: new Date(start).toISOString() });
  }
  for (const hour of body.hours) {
    const bucket = buckets.find((item) => new Date(item.start).getTime() === new Date(hour.hour).getTime());
    if (!bucket) continue;
    const index = costly.indexOf(hour.tenant);
    const key = index < 0 ? "other" : `t${index}`;
    bucket[key] = (bucket[key] || 0) + hour.worker_seconds;
  }
  return { buckets, series };
}

function totalsTable(totals, label, id) {
  const head = h(
    "tr",
    null,
    h("th", null, label),
    h("th", { class: "num" }, "Jobs"),
    h("th", { class: "num" }, "Attempts"),
    h("th", { class: "num" }, "Worker time"),
    h("th", { class: "num" }, "CPU time"),
    h("th", { class: "num" }, "Cost"),
  );
  const rows = totals.map((total) =>
    h(
      "tr",
      { dataset: { key: total.key } },
      h("td", { class: "strong mono" }, total.key),
      h("td", { class: "num" }, formatNumber(total.jobs)),
      h("td", { class: "num" }, formatNumber(total.attempts)),
      h("td", { class: "num" }, formatDuration(total.worker_seconds)),
      h("td", { class: "num" }, formatDuration(total.cpu_seconds)),
      h("td", { class: "num" }, cost(total.cost)),
    ),
  );
  return h(
    "div",
    { class: "table-wrap" },
    h("table", { class: "table", id }, h("thead", null, head), h("tbody", null, rows.length ? rows : emptyRow(6, "Nothing ran in the last 24 hours."))),
  );
}

export const usagePage = {
  title: "Usage",
  mount(ctx) {
    const chart = h("div");
    const tenants = h("div");
    const tasks = h("div");
    const prices = h("p", { class: "footnote" });
    fill(
      ctx.main,
      card("Worker time per hour", "The last 24 hours, by tenant", chart),
      h("div", { class: "grid-2" }, card("Tenants", "Costliest first", tenants), card("Top tasks", "By cost", tasks)),
      prices,
    );
    return {
      async refresh() {
        const [byTenant, byTask] = await Promise.all([
          api.get(`/v1/usage?since=${WINDOW}&by=tenant`),
          api.get(`/v1/usage?since=${WINDOW}&by=task`),
        ]);
        const { buckets, series } = hourly(byTenant);
        fill(chart, stackedBars({ buckets, bucketSeconds: HOUR, series, format: formatDuration, emptyText: "Nothing ran in the last 24 hours." }));
        fill(tenants, totalsTable(byTenant.totals, "Tenant", "usage-tenants"));
        fill(tasks, totalsTable(byTask.totals.slice(0, 10), "Task", "usage-tasks"));
        const { cpu_hour: cpu, slot_hour: slot } = byTenant.prices;
        fill(prices, `Prices: ${cpu} per CPU-hour, ${slot} per worker slot-hour (WORKHORSE_PRICE_CPU_HOUR, WORKHORSE_PRICE_SLOT_HOUR).`);
      },
    };
  },
};
