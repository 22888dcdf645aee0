// Tenants: each tenant's quotas next to its use of them; admins can pause and resume.

import { api } from "../api.js";
import { card, emptyRow, fill, formatDuration, formatNumber, h, meter, toast } from "../dom.js";

function usage(value, limitValue) {
  if (limitValue === null) return h("span", { class: "count" }, formatNumber(value));
  return meter(value, limitValue, `${formatNumber(value)} / ${formatNumber(limitValue)}`);
}

function rate(tenant) {
  if (tenant.rate === null) return h("span", { class: "muted" }, "no limit");
  const burst = tenant.burst === null ? "" : ` (burst ${formatNumber(tenant.burst)})`;
  return `${formatNumber(tenant.rate)}/s${burst}`;
}

async function setPaused(tenant, paused, done) {
  try {
    await api.put(`/v1/tenants/${encodeURIComponent(tenant.name)}`, { paused });
    toast(`${tenant.name} ${paused ? "paused" : "resumed"}`);
  } catch (error) {
    toast(error.message, "error");
  }
  done();
}

function row(tenant, admin, done) {
  return h(
    "tr",
    { dataset: { tenant: tenant.name } },
    h("td", { class: "strong" }, tenant.name),
    h("td", null, tenant.paused ? h("span", { class: "pill pill-paused" }, "paused") : h("span", { class: "pill pill-active" }, "active")),
    h("td", { class: "num" }, formatNumber(tenant.weight)),
    h("td", { class: "cell-meter" }, usage(tenant.running, tenant.max_running)),
    h("td", { class: "cell-meter" }, usage(tenant.waiting, tenant.max_queued)),
    h("td", { class: "num" }, formatNumber(tenant.started_last_minute)),
    h("td", null, rate(tenant)),
    h("td", { class: "num", title: "Decayed worker-seconds used recently: what fair sharing compares" }, tenant.usage_seconds ? formatDuration(tenant.usage_seconds) : "0 s"),
    admin &&
      h(
        "td",
        { class: "row-actions" },
        h("button", { class: "btn btn-sm", type: "button", dataset: { action: tenant.paused ? "resume" : "pause" }, onclick: () => setPaused(tenant, !tenant.paused, done) }, tenant.paused ? "Resume" : "Pause"),
      ),
  );
}

function table(tenants, admin, done) {
  const head = h(
    "tr",
    null,
    h("th", null, "Tenant"),
    h("th", null, "Status"),
    h("th", { class: "num" }, "Weight"),
    h("th", null, "Running / max"),
    h("th", null, "Waiting / max queued"),
    h("th", { class: "num" }, "Started (1 min)"),
    h("th", null, "Start rate"),
    h("th", { class: "num" }, "Recent usage"),
    admin && h("th", { class: "row-actions" }, ""),
  );
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table", id: "tenants-table" },
      h("thead", null, head),
      h("tbody", null, tenants.length ? tenants.map((tenant) => row(tenant, admin, done)) : emptyRow(admin ? 9 : 8, "No tenants yet: a tenant appears with its first job or when configured.")),
    ),
  );
}

export const tenantsPage = {
  title: "Tenants",
  mount(ctx) {
    const body = h("div");
    const subtitle = ctx.me.admin
      ? "Quotas and current use. Weights share worker time between busy tenants."
      : `Your tenant, ${ctx.me.tenant}: quotas and current use.`;
    fill(ctx.main, card("Tenants", subtitle, body), limitsNote());
    return {
      async refresh() {
        const data = await api.get("/v1/tenants");
        fill(body, table(data.tenants, ctx.me.admin, ctx.refresh));
      },
    };
  },
};

function limitsNote() {
  return h(
    "p",
    { class: "footnote" },
    "Max running caps jobs running at once across all workers; max queued refuses enqueues beyond it; the start rate is a token bucket. Change them with ",
    h("code", null, "workhorse tenants set"),
    " or ",
    h("code", null, "PUT /v1/tenants/{name}"),
    ".",
  );
}
