// Workers: every registered worker with its last heartbeat and utilisation (admin keys only).

import { api } from "../api.js";
import { card, emptyRow, fill, formatNumber, h, meter, relativeTime } from "../dom.js";

const STALE_SECONDS = 30;

function isStale(worker) {
  return (Date.now() - new Date(worker.last_seen_at).getTime()) / 1000 > STALE_SECONDS;
}

function summary(workers) {
  const live = workers.filter((worker) => !isStale(worker));
  const slots = live.reduce((total, worker) => total + worker.concurrency, 0);
  const running = live.reduce((total, worker) => total + worker.running, 0);
  const stat = (label, value, detail) =>
    h("div", { class: "stat" }, h("div", { class: "stat-label" }, label), h("div", { class: "stat-value" }, value), h("div", { class: "stat-detail" }, detail));
  return h(
    "div",
    { class: "stats stats-3", id: "worker-summary" },
    stat("Workers", formatNumber(live.length), `${formatNumber(workers.length - live.length)} not heard from in ${STALE_SECONDS} s`),
    stat("Running", formatNumber(running), `of ${formatNumber(slots)} slots`),
    stat("Utilisation", slots ? `${Math.round((running / slots) * 100)}%` : "–", "running jobs / concurrency"),
  );
}

function row(worker) {
  const stale = isStale(worker);
  const percent = Math.round(worker.utilisation * 100);
  return h(
    "tr",
    { dataset: { worker: worker.id }, class: stale ? "stale" : null },
    h("td", { class: "mono strong" }, worker.id),
    h("td", null, worker.host),
    h("td", { class: "num mono" }, String(worker.pid)),
    h("td", null, worker.queues.map((queue) => h("span", { class: "chip" }, queue))),
    h("td", { class: "cell-meter" }, meter(worker.running, worker.concurrency, `${worker.running} / ${worker.concurrency} · ${percent}%`)),
    h("td", null, relativeTime(worker.last_seen_at), stale && h("span", { class: "pill pill-stale" }, "stale")),
    h("td", { class: "muted" }, relativeTime(worker.started_at)),
  );
}

export const workersPage = {
  title: "Workers",
  mount(ctx) {
    if (!ctx.me.admin) {
      fill(ctx.main, h("div", { class: "notice", id: "workers-admin-only" }, "Workers are shared by every tenant: only an admin key can see them."));
      return { refresh: async () => {} };
    }
    const top = h("div");
    const body = h("div");
    fill(ctx.main, top, card("Workers", "Last heartbeat and running jobs of each registered worker", body));
    return {
      async refresh() {
        const data = await api.get("/v1/stats/workers");
        fill(top, summary(data.workers));
        const head = h("tr", null, ["Worker", "Host", "PID", "Queues", "Utilisation", "Last heartbeat", "Started"].map((label) => h("th", { class: label === "PID" ? "num" : null }, label)));
        fill(
          body,
          h(
            "div",
            { class: "table-wrap" },
            h("table", { class: "table", id: "workers-table" }, h("thead", null, head), h("tbody", null, data.workers.length ? data.workers.map(row) : emptyRow(7, "No worker is running. Start one with workhorse worker --app module:app."))),
          ),
        );
      },
    };
  },
};
