// Webhooks: a tenant's endpoints (why one is disabled), its recent deliveries with their status
// and response code, and redelivery. A tenant key sees its own; an admin key every tenant's.

import { api } from "../api.js";
import { card, emptyRow, fill, formatRelative, h, toast } from "../dom.js";

function status(hook) {
  if (hook.disabled_at === null) return h("span", { class: "pill pill-active" }, "enabled");
  return h("span", { class: "pill pill-paused", title: hook.disabled_reason || "" }, "disabled");
}

function hookRow(hook) {
  return h(
    "tr",
    { dataset: { webhook: String(hook.id) } },
    h("td", { class: "num" }, `#${hook.id}`),
    h("td", { class: "strong" }, hook.tenant),
    h("td", { class: "mono" }, hook.url),
    h("td", null, hook.events === null ? h("span", { class: "muted" }, "every event") : hook.events.join(", ")),
    h("td", null, status(hook)),
    h("td", { class: "muted" }, hook.disabled_reason || ""),
  );
}

function hooksTable(hooks) {
  const head = h("tr", null, h("th", { class: "num" }, "Id"), h("th", null, "Tenant"), h("th", null, "URL"), h("th", null, "Events"), h("th", null, "Status"), h("th", null, "Why disabled"));
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table", id: "webhooks-table" },
      h("thead", null, head),
      h("tbody", null, hooks.length ? hooks.map(hookRow) : emptyRow(6, "No webhooks: add one with `workhorse webhooks add` or POST /v1/webhooks.")),
    ),
  );
}

async function redeliver(delivery, done) {
  try {
    await api.post(`/v1/deliveries/${delivery.id}/redeliver`, {});
    toast(`${delivery.event_id} will be sent again`);
  } catch (error) {
    toast(error.message, "error");
  }
  done();
}

function outcome(delivery) {
  if (delivery.last_status !== null) return String(delivery.last_status);
  return delivery.last_error || "";
}

function deliveryRow(delivery, done) {
  return h(
    "tr",
    { dataset: { delivery: String(delivery.id), state: delivery.state } },
    h("td", { class: "num" }, `#${delivery.id}`),
    h("td", { class: "mono" }, delivery.event_id),
    h("td", null, delivery.event_type),
    h("td", { class: "num" }, `#${delivery.webhook_id}`),
    h("td", null, h("span", { class: `pill pill-${delivery.state === "delivered" ? "active" : "paused"}` }, delivery.state)),
    h("td", { class: "num" }, String(delivery.attempts)),
    h("td", { class: "response", title: delivery.last_error || "" }, outcome(delivery)),
    h("td", { class: "muted" }, formatRelative(delivery.created_at)),
    h(
      "td",
      { class: "row-actions" },
      h("button", { class: "btn btn-sm", type: "button", dataset: { action: "redeliver" }, onclick: () => redeliver(delivery, done) }, "Redeliver"),
    ),
  );
}

function deliveriesTable(deliveries, done) {
  const head = h(
    "tr",
    null,
    h("th", { class: "num" }, "Id"),
    h("th", null, "Event"),
    h("th", null, "Type"),
    h("th", { class: "num" }, "Webhook"),
    h("th", null, "State"),
    h("th", { class: "num" }, "Attempts"),
    h("th", null, "Response"),
    h("th", null, "Created"),
    h("th", { class: "row-actions" }, ""),
  );
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table", id: "deliveries-table" },
      h("thead", null, head),
      h("tbody", null, deliveries.length ? deliveries.map((d) => deliveryRow(d, done)) : emptyRow(9, "No deliveries yet.")),
    ),
  );
}

export const webhooksPage = {
  title: "Webhooks",
  mount(ctx) {
    const hooks = h("div");
    const deliveries = h("div");
    const subtitle = ctx.me.admin ? "Every tenant's endpoints." : `The endpoints of ${ctx.me.tenant}.`;
    fill(ctx.main, card("Webhooks", subtitle, hooks), card("Recent deliveries", "Newest first: state, attempts and the last response code or error.", deliveries));
    return {
      async refresh() {
        const [hookData, deliveryData] = await Promise.all([api.get("/v1/webhooks"), api.get("/v1/deliveries?limit=50")]);
        fill(hooks, hooksTable(hookData.webhooks));
        fill(deliveries, deliveriesTable(deliveryData.deliveries, ctx.refresh));
      },
    };
  },
};
