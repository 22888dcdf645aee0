// The REST API client: every call carries the signed-in key as a Bearer token.

const STORAGE_KEY = "workhorse.apiKey";
const REQUEST_MS = 15000;

/** The dashboard's own path, e.g. "/ui" (behind a proxy: "/prefix/ui"). */
export const BASE = document.querySelector('meta[name="wh-base"]').content;
const API_ROOT = BASE.slice(0, -"/ui".length);

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// The key lives in this tab's sessionStorage (gone when the tab closes) unless the user asked to
// be remembered: then in localStorage, which every tab of this origin shares and keeps.
export function storedKey() {
  return window.sessionStorage.getItem(STORAGE_KEY) || window.localStorage.getItem(STORAGE_KEY);
}

export function storeKey(key, remember) {
  forgetKey();
  (remember ? window.localStorage : window.sessionStorage).setItem(STORAGE_KEY, key);
}

export function forgetKey() {
  window.sessionStorage.removeItem(STORAGE_KEY);
  window.localStorage.removeItem(STORAGE_KEY);
}

let unauthorized = () => {};

/** Called when the stored key is refused (revoked, or the database was reset). */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

function url(path, query) {
  const target = new URL(API_ROOT + path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) {
      if (item !== undefined && item !== null && item !== "") {
        target.searchParams.append(name, String(item));
      }
    }
  }
  return target;
}

async function send(method, path, { query, body, key } = {}) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${key || storedKey()}` };
  // A request that stalls is given up, so the next refresh is not held behind it for good.
  const init = { method, headers, cache: "no-store", signal: AbortSignal.timeout(REQUEST_MS) };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url(path, query), init);
  } catch (error) {
    if (error.name === "TimeoutError") {
      throw new ApiError(0, "timeout", `The Workhorse API did not answer within ${REQUEST_MS / 1000} s.`);
    }
    throw new ApiError(0, "network", "The Workhorse API cannot be reached.");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (data && data.error) || {};
    const failure = new ApiError(
      response.status,
      error.code || `http_${response.status}`,
      error.message || response.statusText,
    );
    if (response.status === 401 && !key) unauthorized(failure);
    throw failure;
  }
  return data;
}

export const api = {
  get: (path, query) => send("GET", path, { query }),
  post: (path, body) => send("POST", path, { body: body === undefined ? {} : body }),
  put: (path, body) => send("PUT", path, { body }),
  /** Who ``key`` is (before it is stored): resolves to /v1/me, or throws ApiError. */
  whoami: (key) => send("GET", "/v1/me", { key }),
};
