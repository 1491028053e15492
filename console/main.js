// The console's shell: asks for a token when the system wants one, shows the pages the
// token's role may use, and routes #page/argument to them.
import { can, detect, probe, session, signIn, signOut } from "./session.js";
import { api } from "./api.js";
import { esc } from "./dom.js";
import overview from "./page-overview.js";
import feed from "./page-feed.js";
import inspector from "./page-inspector.js";
import commandLog from "./page-command-log.js";
import queryLog from "./page-query-log.js";
import deadLetters from "./page-dead-letters.js";
import projections from "./page-projections.js";
import handlers from "./page-handlers.js";

const PAGES = [overview, feed, inspector, commandLog, queryLog, deadLetters, projections, handlers];
let current = null;

function show() {
  const [id, ...rest] = location.hash.replace(/^#/, "").split("/");
  const page = PAGES.find((p) => p.id === id && can(p.needs || "reader")) || PAGES[0];
  const arg = rest.length ? decodeURIComponent(rest.join("/")) : "";
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === page.id);
  for (const p of PAGES) p.el.hidden = p !== page;
  if (current && current !== page && current.leave) current.leave();
  current = page;
  page.enter(arg);
}

export function go(id, arg = "") {
  const hash = `#${id}${arg ? "/" + encodeURIComponent(arg) : ""}`;
  if (location.hash === hash) show();
  else location.hash = hash;
}

async function ask(message = "") {
  const dialog = document.getElementById("token-dialog");
  document.getElementById("token-error").textContent = message;
  document.getElementById("token-input").value = "";
  dialog.showModal();
  await new Promise((resolve) => dialog.addEventListener("close", resolve, { once: true }));
  const ok = await signIn(document.getElementById("token-input").value);
  if (!ok) return ask("That token was refused (401): expired, badly signed or for another audience.");
}

async function healthBadge() {
  try {
    const health = await api("/health", { accept: [503] });
    const el = document.getElementById("system-status");
    el.className = `badge ${health.status}`;
    el.textContent = `system ${health.status}`;
    el.title = health.failing && health.failing.length ? `failing: ${health.failing.join(", ")}` : "";
  } catch { /* the overview names the failure */ }
}

async function start() {
  if (await detect()) {
    if (!(await probe())) await ask();
  }
  const who = document.getElementById("who");
  who.textContent = session.authEnabled ? `${session.subject} (${session.roles.join(", ") || "no role"})` : "auth off: every action allowed";
  const out = document.getElementById("sign-out");
  out.hidden = !session.authEnabled;
  out.onclick = () => { signOut(); location.reload(); };
  const main = document.getElementById("pages");
  const nav = document.getElementById("nav");
  for (const page of PAGES) {
    page.el = document.createElement("section");
    page.el.className = "page";
    page.el.id = `page-${page.id}`;
    page.el.hidden = true;
    main.append(page.el);
    page.mount(page.el, { go });
    const link = document.createElement("a");
    link.href = `#${page.id}`;
    link.dataset.page = page.id;
    if (page.needs) link.dataset.needs = page.needs;
    link.innerHTML = esc(page.title);
    nav.append(link);
  }
  window.addEventListener("hashchange", show);
  show();
  healthBadge();
  setInterval(healthBadge, 5000);
  document.body.dataset.ready = "true";
}

start();
