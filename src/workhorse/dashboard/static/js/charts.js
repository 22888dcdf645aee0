// Two small SVG charts over time buckets: stacked bars and lines, with a hover read-out.

import { formatClock, formatTime, h, s } from "./dom.js";

const WIDTH = 720;
const HEIGHT = 220;
const MARGIN = { top: 14, right: 14, bottom: 26, left: 52 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
const TICK_CHOICES = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200];

/** The smallest "nice" number (1, 2 or 5 times a power of ten) at or above ``value``. */
function niceCeil(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

/** A y scale whose four grid steps are nice numbers and whose top is at or above ``max``. */
function yScale(max, integers) {
  const step = max > 0 ? niceCeil(max / 4) : 1;
  const top = 4 * (integers ? Math.max(1, Math.ceil(step)) : step);
  return { top, y: (value) => MARGIN.top + PLOT_H - (value / top) * PLOT_H };
}

function xScale(count) {
  const slot = PLOT_W / Math.max(count, 1);
  return { slot, x: (index) => MARGIN.left + index * slot };
}

function grid(scale, format) {
  const parts = [];
  for (let step = 0; step <= 4; step += 1) {
    const value = (scale.top * step) / 4;
    const y = scale.y(value);
    parts.push(s("line", { class: "grid", x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y, y2: y }));
    parts.push(
      s("text", { class: "axis", x: MARGIN.left - 8, y: y + 4, "text-anchor": "end" }, format(value)),
    );
  }
  return parts;
}

function timeAxis(buckets, bucketSeconds, xs) {
  const span = buckets.length * bucketSeconds;
  const every = TICK_CHOICES.find((tick) => span / tick <= 7 && tick >= bucketSeconds) || span;
  const labels = [];
  buckets.forEach((bucket, index) => {
    const start = new Date(bucket.start);
    if ((start.getTime() / 1000) % every !== 0) return;
    const x = xs.x(index);
    labels.push(s("line", { class: "tick", x1: x, x2: x, y1: MARGIN.top + PLOT_H, y2: MARGIN.top + PLOT_H + 4 }));
    labels.push(
      s("text", { class: "axis", x, y: HEIGHT - 6, "text-anchor": "middle" }, formatClock(start)),
    );
  });
  return labels;
}

function legend(series) {
  return h(
    "ul",
    { class: "legend" },
    series.map((item) =>
      h("li", null, h("span", { class: `swatch ${item.className}` }), item.label),
    ),
  );
}

function readout(box, buckets, bucketSeconds, series, format) {
  const tip = h("div", { class: "chart-tip", hidden: true });
  box.append(tip);
  return (index, marker) => {
    if (index === null) {
      tip.hidden = true;
      marker.setAttribute("visibility", "hidden");
      return;
    }
    const bucket = buckets[index];
    const end = new Date(new Date(bucket.start).getTime() + bucketSeconds * 1000);
    tip.replaceChildren(
      h("strong", null, `${formatTime(bucket.start)} – ${formatTime(end.toISOString())}`),
      ...series.map((item) =>
        h(
          "div",
          null,
          h("span", { class: `swatch ${item.className}` }),
          `${item.label}: ${format(bucket[item.key])}`,
        ),
      ),
    );
    tip.hidden = false;
    const left = ((MARGIN.left + (index + 0.5) * (PLOT_W / buckets.length)) / WIDTH) * 100;
    tip.style.left = `${Math.min(Math.max(left, 12), 82)}%`;
    marker.setAttribute("visibility", "visible");
  };
}

function hoverLayer(svg, buckets, xs, show) {
  const marker = s("rect", {
    class: "hover-band",
    y: MARGIN.top,
    height: PLOT_H,
    width: xs.slot,
    visibility: "hidden",
  });
  svg.append(marker);
  const layer = s("rect", {
    class: "hover-layer",
    x: MARGIN.left,
    y: MARGIN.top,
    width: PLOT_W,
    height: PLOT_H,
  });
  layer.addEventListener("mousemove", (event) => {
    const box = svg.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * WIDTH;
    const index = Math.min(buckets.length - 1, Math.max(0, Math.floor((x - MARGIN.left) / xs.slot)));
    marker.setAttribute("x", xs.x(index));
    show(index, marker);
  });
  layer.addEventListener("mouseleave", () => show(null, marker));
  svg.append(layer);
}

function frame(buckets, bucketSeconds, scale, format) {
  const xs = xScale(buckets.length);
  const svg = s(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "chart-svg", role: "img" },
    grid(scale, format),
    timeAxis(buckets, bucketSeconds, xs),
  );
  return { svg, xs };
}

function wrap(svg, series, empty, emptyText) {
  const box = h("div", { class: "chart" }, legend(series), h("div", { class: "chart-body" }, svg));
  if (empty) box.querySelector(".chart-body").append(h("div", { class: "chart-empty" }, emptyText));
  return box;
}

/**
 * Stacked bars, one per bucket. ``series``: [{key, label, className}], bottom first.
 */
export function stackedBars({ buckets, bucketSeconds, series, format, emptyText }) {
  const totals = buckets.map((bucket) => series.reduce((sum, item) => sum + (bucket[item.key] || 0), 0));
  const scale = yScale(Math.max(...totals, 0), true);
  const { svg, xs } = frame(buckets, bucketSeconds, scale, format);
  const gap = Math.min(2, xs.slot * 0.2);
  buckets.forEach((bucket, index) => {
    let base = 0;
    for (const item of series) {
      const value = bucket[item.key] || 0;
      if (!value) continue;
      const y = scale.y(base + value);
      svg.append(
        s("rect", {
          class: `bar ${item.className}`,
          x: xs.x(index) + gap / 2,
          y,
          width: Math.max(xs.slot - gap, 0.5),
          height: scale.y(base) - y,
        }),
      );
      base += value;
    }
  });
  const box = wrap(svg, series, totals.every((total) => total === 0), emptyText);
  hoverLayer(svg, buckets, xs, readout(box.querySelector(".chart-body"), buckets, bucketSeconds, series, format));
  return box;
}

function linePath(buckets, key, xs, scale) {
  let path = "";
  let drawing = false;
  buckets.forEach((bucket, index) => {
    const value = bucket[key];
    if (value === null || value === undefined) {
      drawing = false;
      return;
    }
    const x = xs.x(index) + xs.slot / 2;
    path += `${drawing ? "L" : "M"}${x.toFixed(1)},${scale.y(value).toFixed(1)}`;
    drawing = true;
  });
  return path;
}

/** Lines, one point per bucket; a bucket without a value breaks the line. */
export function lines({ buckets, bucketSeconds, series, format, emptyText }) {
  const values = buckets.flatMap((bucket) => series.map((item) => bucket[item.key]));
  const present = values.filter((value) => value !== null && value !== undefined);
  const scale = yScale(Math.max(...present, 0), false);
  const { svg, xs } = frame(buckets, bucketSeconds, scale, format);
  for (const item of series) {
    svg.append(s("path", { class: `line ${item.className}`, d: linePath(buckets, item.key, xs, scale) }));
    buckets.forEach((bucket, index) => {
      const value = bucket[item.key];
      if (value === null || value === undefined) return;
      svg.append(
        s("circle", { class: `dot ${item.className}`, cx: xs.x(index) + xs.slot / 2, cy: scale.y(value), r: 2.2 }),
      );
    });
  }
  const box = wrap(svg, series, present.length === 0, emptyText);
  hoverLayer(svg, buckets, xs, readout(box.querySelector(".chart-body"), buckets, bucketSeconds, series, format));
  return box;
}
