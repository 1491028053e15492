// Calls to the public API through the gateway, with the bearer token when there is one.
// An answer outside 2xx is thrown as ApiError carrying the services' error shape.
export const BASE = "/api/v1/cqrs";
const TOKEN_KEY = "cqrs-console-token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(`${status} ${err.code || ""}: ${err.message || (typeof body === "string" ? body : "")}`.trim());
    this.status = status;
    this.code = err.code;
    this.body = body;
  }
}

// api("/events", {query: {aggregate_id}}); api("/x", {method: "POST", body: {...}});
// `accept` lists non-2xx statuses whose body is an answer (a 503 system health).
export async function api(path, { method = "GET", body, query, accept = [], bare = false } = {}) {
  const url = new URL((bare ? "" : BASE) + path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = text;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON: keep the text */ }
  if (!res.ok && !accept.includes(res.status)) throw new ApiError(res.status, data);
  return data;
}

// A WebSocket on the gateway; the token travels as the subprotocol pair ("bearer", token),
// the only way a browser can send it (cqrs_http/ws_token.py).
export function socket(path) {
  const url = new URL(path, location.origin);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return token() ? new WebSocket(url, ["bearer", token()]) : new WebSocket(url);
}
