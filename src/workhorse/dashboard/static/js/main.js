// The dashboard's shell: sign-in, navigation between pages, and refreshing the page on a timer.

import { api, ApiError, BASE, forgetKey, onUnauthorized, storedKey, storeKey } from "./api.js";
import { fill, formatRelative, h, s, toast } from "./dom.js";
import { deadPage } from "./pages/dead.js";
import { jobPage } from "./pages/job.js";
import { jobsPage } from "./pages/jobs.js";
import { overviewPage } from "./pages/overview.js";
import { tenantsPage } from "./pages/tenants.js";
import { usagePage } from "./pages/usage.js";
import { webhooksPage } from "./pages/webhooks.js";
import { workflowPage } from "./pages/workflow.js";
import { workflowsPage } from "./pages/workflows.js";
import { workersPage } from "./pages/workers.js";

const REFRESH_MS = 5000;
const root = document.getElementById("app");

const NAV = [
  { path: "", label: "Overview", icon: "M3 13h4v8H3zM10 8h4v13h-4zM17 3h4v18h-4z", page: overviewPage },
  { path: "jobs", label: "Jobs", icon: "M4 5h16M4 12h16M4 19h16", page: jobsPage },
  { path: "workflows", label: "Workflows", icon: "M4 5h5v4H4zM15 3h5v4h-5zM15 17h5v4h-5zM9 7h3v12h3M12 5h3", page: workflowsPage },
  { path: "dead", label: "Dead jobs", icon: "M12 3 2 21h20L12 3zm0 6v5m0 3v.5", page: deadPage },
  { path: "tenants", label: "Tenants", icon: "M8 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm8 2a3 3 0 1 0 0-6M2 21a6 6 0 0 1 12 0m2-5a5 5 0 0 1 6 5", page: tenantsPage },
  { path: "usage", label: "Usage", icon: "M12 2v20M17 6H9.5a3.5 3.5 0 0 0 0 7h5a3.5 3.5 0 0 1 0 7H6", page: usagePage },
  { path: "webhooks", label: "Webhooks", icon: "M4 12h4l3-7 4 14 3-7h2", page: webhooksPage },
  { path: "workers", label: "Workers", icon: "M4 4h16v6H4zM4 14h16v6H4zM8 7h.01M8 17h.01", page: workersPage, admin: true },
];

const state = {
  me: null,
  page: null,
  timer: null,
  refreshing: false,
  again: false,
  paused: false,
  lastRefresh: null,
  lastError: null,
  shell: null,
};

// -- routing ---------------------------------------------------------------------------------

function currentRoute() {
  const path = window.location.pathname.slice(BASE.length).replace(/^\/+|\/+$/g, "");
  const match = /^jobs\/(\d+)$/.exec(path);
  if (match) return { nav: "jobs", page: jobPage, args: { id: Number(match[1]) } };
  const workflow = /^workflows\/(\d+)$/.exec(path);
  if (workflow) return { nav: "workflows", page: workflowPage, args: { id: Number(workflow[1]) } };
  const entry = NAV.find((item) => item.path === path);
  if (!entry) return { nav: null, page: notFoundPage, args: {} };
  return { nav: entry.path, page: entry.page, args: {} };
}

export function navigate(path, { replace = false } = {}) {
  const target = `${BASE}/${path.replace(/^\//, "")}`;
  if (replace) window.history.replaceState(null, "", target);
  else window.history.pushState(null, "", target);
  showPage();
}

function interceptLinks(event) {
  const link = event.target.closest("a[data-link]");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute("href").slice(BASE.length));
}

const notFoundPage = {
  title: "Not found",
  mount(ctx) {
    fill(ctx.main, h("div", { class: "notice" }, "There is no such page. ", h("a", { href: `${BASE}/`, "data-link": true }, "Go to the overview")));
    return { refresh: async () => {} };
  },
};

// -- refreshing ------------------------------------------------------------------------------

/** Reload the page's data. A call made while a refresh runs (after an action) runs once that
 * one is done, so it sees the action's effect. */
async function refresh() {
  const page = state.page;
  if (!page) return;
  if (state.refreshing) {
    state.again = true;
    return;
  }
  state.refreshing = true;
  try {
    await page.refresh();
    state.lastError = null;
    state.lastRefresh = Date.now();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) state.lastError = error;
  } finally {
    state.refreshing = false;
    showStatus();
  }
  if (state.again) {
    state.again = false;
    refresh();
  }
}

function schedule() {
  window.clearInterval(state.timer);
  state.timer = window.setInterval(() => {
    if (!state.paused && !document.hidden) refresh();
    showStatus();
  }, REFRESH_MS);
}

function showStatus() {
  const shell = state.shell;
  if (!shell) return;
  shell.live.classList.toggle("paused", state.paused);
  shell.live.classList.toggle("failing", Boolean(state.lastError));
  shell.pause.textContent = state.paused ? "Resume" : "Pause";
  shell.pause.setAttribute("aria-pressed", String(state.paused));
  let text = state.paused ? "Paused" : "Live";
  if (state.lastRefresh) text += ` · updated ${formatRelative(new Date(state.lastRefresh).toISOString())}`;
  shell.liveText.textContent = text;
  fill(shell.banner, state.lastError && h("div", { class: "banner" }, `Could not refresh: ${state.lastError.message}`));
}

// -- pages -----------------------------------------------------------------------------------

function showPage() {
  if (!state.me) return;
  const route = currentRoute();
  const shell = state.shell;
  for (const link of shell.nav.querySelectorAll("a")) {
    link.classList.toggle("active", link.dataset.nav === route.nav);
    if (link.dataset.nav === route.nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (state.page && state.page.dispose) state.page.dispose();
  // Each page draws into its own element: a slow refresh of the page left behind draws into a
  // detached one, never over the page now shown.
  const container = h("div", { class: "page" });
  shell.main.replaceChildren(container);
  state.lastError = null;
  const ctx = { me: state.me, main: container, args: route.args, navigate, refresh, setTitle };
  setTitle(route.page.title);
  state.page = route.page.mount(ctx);
  refresh();
  schedule();
}

function setTitle(title) {
  state.shell.title.textContent = title;
  document.title = `${title} · Workhorse`;
}

function icon(path) {
  return s("svg", { viewBox: "0 0 24 24", class: "icon", "aria-hidden": "true" }, s("path", { d: path }));
}

function buildShell(me) {
  const nav = h(
    "nav",
    { class: "nav", "aria-label": "Main" },
    NAV.filter((item) => me.admin || !item.admin).map((item) =>
      h("a", { href: `${BASE}/${item.path}`, "data-link": true, dataset: { nav: item.path } }, icon(item.icon), item.label),
    ),
  );
  const title = h("h1", { id: "page-title" });
  const liveText = h("span", { class: "live-text" });
  const live = h("span", { class: "live", id: "live" }, h("span", { class: "live-dot" }), liveText);
  const pause = h("button", { class: "btn btn-ghost btn-sm", id: "pause", type: "button", onclick: togglePause }, "Pause");
  const who = me.admin
    ? h("span", { class: "who", id: "who" }, h("span", { class: "pill pill-admin" }, "admin"), me.key_prefix)
    : h("span", { class: "who", id: "who" }, h("span", { class: "pill pill-tenant" }, "tenant"), me.tenant);
  const signOutButton = h("button", { class: "btn btn-ghost btn-sm", id: "sign-out", type: "button", onclick: () => signOut() }, "Sign out");
  const banner = h("div", { class: "banner-slot" });
  const main = h("main", { id: "main", class: "main" });
  const version = document.querySelector('meta[name="wh-version"]').content;
  fill(
    root,
    h(
      "div",
      { class: "shell" },
      h(
        "aside",
        { class: "sidebar" },
        h("a", { class: "brand", href: `${BASE}/`, "data-link": true }, h("img", { src: `${BASE}/static/img/logo.svg`, alt: "" }), "Workhorse"),
        nav,
        h("div", { class: "sidebar-foot" }, `v${version}`),
      ),
      h(
        "div",
        { class: "content" },
        h("header", { class: "topbar" }, title, h("div", { class: "spacer" }), live, pause, who, signOutButton),
        banner,
        main,
      ),
    ),
  );
  return { nav, title, live, liveText, pause, banner, main };
}

function togglePause() {
  state.paused = !state.paused;
  if (!state.paused) refresh();
  showStatus();
}

// -- signing in and out ----------------------------------------------------------------------

function signInForm(message) {
  const input = h("input", {
    id: "api-key",
    name: "api-key",
    type: "password",
    autocomplete: "current-password",
    placeholder: "wh_…",
    required: true,
    spellcheck: "false",
  });
  const remember = h("input", { id: "remember-me", name: "remember-me", type: "checkbox" });
  const error = h("p", { class: "form-error", id: "sign-in-error", role: "alert" }, message || "");
  const button = h("button", { class: "btn btn-primary btn-block", type: "submit", id: "sign-in" }, "Sign in");
  const form = h(
    "form",
    { class: "signin-card", onsubmit: (event) => submitKey(event, input, remember, error, button) },
    h("div", { class: "signin-brand" }, h("img", { src: `${BASE}/static/img/logo.svg`, alt: "" }), h("span", null, "Workhorse")),
    h("h1", null, "Sign in"),
    h("p", { class: "muted" }, "Use an API key: an admin key sees every tenant, a tenant key only its own jobs."),
    h("label", { for: "api-key" }, "API key"),
    input,
    h("label", { class: "remember", for: "remember-me" }, remember, " Remember me on this browser"),
    error,
    button,
    h("p", { class: "hint" }, "Create one with ", h("code", null, "workhorse keys create --admin"), " or ", h("code", null, "--tenant NAME"), ". The key is sent only to this server and kept in this tab until it closes (in this browser, if remembered)."),
  );
  fill(root, h("div", { class: "signin" }, form));
  input.focus();
}

async function submitKey(event, input, remember, error, button) {
  event.preventDefault();
  const key = input.value.trim();
  if (!key) return;
  button.disabled = true;
  error.textContent = "";
  try {
    const me = await api.whoami(key);
    storeKey(key, remember.checked);
    start(me);
  } catch (failure) {
    error.textContent = failure.status === 401 ? "This key is not valid (or has been revoked)." : failure.message;
    button.disabled = false;
  }
}

function start(me) {
  state.me = me;
  state.shell = buildShell(me);
  showPage();
}

function signOut(message) {
  forgetKey();
  window.clearInterval(state.timer);
  if (state.page && state.page.dispose) state.page.dispose();
  Object.assign(state, { me: null, page: null, shell: null, lastRefresh: null, lastError: null });
  signInForm(message);
}

async function boot() {
  document.addEventListener("click", interceptLinks);
  window.addEventListener("popstate", showPage);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && !state.paused) refresh();
  });
  onUnauthorized(() => signOut("Your key was refused: sign in again."));
  const key = storedKey();
  if (!key) {
    signInForm();
    return;
  }
  try {
    start(await api.whoami(key));
  } catch (failure) {
    if (failure.status === 401) signOut("Your key was refused: sign in again.");
    else {
      signInForm(failure.message);
      toast(failure.message, "error");
    }
  }
}

boot();
