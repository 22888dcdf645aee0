// DOM building and formatting. Text always goes in as text nodes, never as HTML.

const SVG_NS = "http://www.w3.org/2000/svg";

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function setAttributes(element, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

/** An HTML element: h("a", {href: "/", class: "link"}, "text", child, [more]). */
export function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  setAttributes(element, attrs);
  append(element, children);
  return element;
}

/** An SVG element, as ``h``. */
export function s(tag, attrs, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  setAttributes(element, attrs);
  append(element, children);
  return element;
}

/** Replace ``element``'s children. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

// -- formatting ------------------------------------------------------------------------------

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const clockFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const numberFormat = new Intl.NumberFormat();

export function formatNumber(value) {
  return value === null || value === undefined ? "–" : numberFormat.format(value);
}

/** "14:03" for a chart axis. */
export function formatClock(date) {
  return clockFormat.format(date);
}

/** A full local date and time (with milliseconds when ``precise``). */
export function formatDateTime(iso, precise = false) {
  if (!iso) return "–";
  const date = new Date(iso);
  const text = dateTimeFormat.format(date);
  return precise ? `${text}.${String(date.getMilliseconds()).padStart(3, "0")}` : text;
}

export function formatTime(iso) {
  return iso ? timeFormat.format(new Date(iso)) : "–";
}

/** A duration given in seconds: "350 ms", "4.2 s", "3m 05s", "2h 10m". */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  const value = Math.abs(seconds);
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  if (value < 60) return `${value.toFixed(value < 10 ? 2 : 1)} s`;
  if (value < 3600) {
    const minutes = Math.floor(value / 60);
    return `${minutes}m ${String(Math.floor(value % 60)).padStart(2, "0")}s`;
  }
  const hours = Math.floor(value / 3600);
  return `${hours}h ${String(Math.floor((value % 3600) / 60)).padStart(2, "0")}m`;
}

/** "12 s ago", "in 3m 05s": relative to the browser's clock. */
export function formatRelative(iso, now = Date.now()) {
  if (!iso) return "–";
  const seconds = (now - new Date(iso).getTime()) / 1000;
  if (Math.abs(seconds) < 1) return "just now";
  const text = formatDuration(Math.round(Math.abs(seconds))).replace(/\.\d+ s$/, " s");
  return seconds >= 0 ? `${text} ago` : `in ${text}`;
}

/** A <time> showing a relative time, with the absolute one on hover. */
export function relativeTime(iso) {
  if (!iso) return h("span", { class: "muted" }, "–");
  return h("time", { datetime: iso, title: formatDateTime(iso, true) }, formatRelative(iso));
}

export function json(value) {
  return JSON.stringify(value, null, 2);
}

export const STATES = [
  "scheduled",
  "queued",
  "blocked",
  "running",
  "retrying",
  "succeeded",
  "dead",
  "cancelled",
];

export const WAITING_STATES = ["scheduled", "queued", "retrying"];

export function statePill(state) {
  return h("span", { class: `pill state-${state}`, dataset: { state } }, state);
}

// -- feedback --------------------------------------------------------------------------------

/** A message in the corner for a few seconds; ``kind`` is "ok" or "error". */
export function toast(message, kind = "ok") {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast toast-${kind}`, role: "status" }, message);
  box.append(item);
  window.setTimeout(() => item.classList.add("leaving"), 4200);
  window.setTimeout(() => item.remove(), 4600);
}

export function emptyRow(columns, message) {
  return h("tr", { class: "empty" }, h("td", { colspan: columns }, message));
}

export function card(title, subtitle, ...body) {
  return h(
    "section",
    { class: "card" },
    h("header", { class: "card-head" }, h("h2", null, title), subtitle && h("p", null, subtitle)),
    ...body,
  );
}

/** A bar showing ``value`` out of ``limit`` (an empty track when there is no limit). */
export function meter(value, limit, label) {
  const ratio = limit ? Math.min(1, value / limit) : 0;
  const bar = h("span", { class: "meter-bar" });
  bar.style.width = `${(ratio * 100).toFixed(1)}%`;
  const level = ratio >= 0.9 ? "high" : ratio >= 0.6 ? "mid" : "low";
  return h(
    "span",
    { class: `meter meter-${level}` },
    h("span", { class: "meter-track" }, bar),
    h("span", { class: "meter-label" }, label),
  );
}
