// Who is using the console: whether the system asks for a token, and what the token's
// roles allow. Roles are ordered (cqrs_http/auth.py): admin > writer > reader. The roles
// shown come from the token's own claims; the services check them on every call.
import { ApiError, api, setToken, token } from "./api.js";

export const ROLES = ["reader", "writer", "admin"];
export const session = { authEnabled: false, subject: null, roles: [] };

export function claims(jwt) {
  const part = (jwt || "").split(".")[1];
  if (!part) return {};
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
  try { return JSON.parse(json); } catch { return {}; }
}

export function can(role) {
  if (!session.authEnabled) return true;
  const rank = ROLES.indexOf(role);
  return session.roles.some((r) => ROLES.indexOf(r) >= rank);
}

// Ask a reader route: 401 means the system wants a token (and that ours, if any, is bad).
export async function probe() {
  try {
    await api("/stats/command");
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return false;
    if (e instanceof ApiError && e.status === 403) return true; // a token, but below reader
    throw e;
  }
}

export async function signIn(value) {
  setToken(value.trim());
  const accepted = await probe();
  if (!accepted) setToken("");
  remember();
  return accepted;
}

export function signOut() {
  setToken("");
  remember();
}

function remember() {
  const c = claims(token());
  let roles = c.roles || [];
  if (typeof roles === "string") roles = roles.split(/\s+/);
  session.subject = token() ? c.sub || "?" : null;
  session.roles = token() ? roles : [];
  for (const role of ROLES) document.body.classList.toggle(`can-${role}`, can(role));
}

// Is auth on? Without a token a reader route answers 401 when it is.
export async function detect() {
  const stored = token();
  setToken("");
  let open = true;
  try { open = await probe(); } catch { open = true; } // a service down is not a login question
  session.authEnabled = !open;
  setToken(stored);
  remember();
  return session.authEnabled;
}

export { token };
