// Declared handlers: command and query types (built-in ones can be disabled and enabled,
// declared ones registered and removed) and webhooks (register, remove); admin only.
import { api } from "./api.js";
import { esc, failure, formValues, json, short, table } from "./dom.js";

let el;

const EXAMPLES = {
  commands: { name: "OpenTicket", stream_type: "ticket", id_field: "ticket_id", event_type: "TicketOpened", precondition: "not_exists", schema: { type: "object", required: ["ticket_id", "title"], properties: { ticket_id: { type: "string" }, title: { type: "string", minLength: 3 } } } },
  queries: { name: "OrdersOfUser", read_model: "OrderReadModel", filters: { user_id: { operators: ["eq"] } }, sortable: ["created_at"], default_limit: 20, max_limit: 100 },
};

function typeSection(kind) {
  return `<div class="panel" id="handlers-${kind}"><h3>${kind === "commands" ? "Command" : "Query"} types</h3>
    <div class="rows"></div>
    <details><summary>Register a ${kind === "commands" ? "command" : "query"} type</summary>
      <form class="register" data-kind="${kind}"><textarea name="body" rows="8" cols="80">${esc(JSON.stringify(EXAMPLES[kind], null, 2))}</textarea><br>
      <button class="primary">Register</button></form></details></div>`;
}

function mount(host) {
  el = host;
  el.innerHTML = `<h2>Handlers and webhooks</h2>
    <div class="panel"><h3>Result</h3><div id="handlers-result" class="result muted">no change yet</div></div>
    ${typeSection("commands")}${typeSection("queries")}
    <div class="panel" id="handlers-webhooks"><h3>Webhooks</h3><div class="rows"></div>
      <details><summary>Register a webhook</summary>
      <form class="filters" id="webhook-form">
        <label>name <input name="name"></label>
        <label>event types (comma-separated, or *) <input name="event_types" value="*" required></label>
        <label>url <input name="url" type="url" size="40" required></label>
        <label>secret (8+ characters) <input name="secret" minlength="8" required></label>
        <button class="primary">Register</button>
      </form></details></div>`;
  el.addEventListener("submit", submit);
  el.addEventListener("click", act);
}

async function loadTypes(kind) {
  const box = el.querySelector(`#handlers-${kind} .rows`);
  try {
    const { items } = await api(`/handlers/${kind}`);
    box.innerHTML = table(items, [
      ["name", (h) => esc(h.name)],
      ["kind", (h) => (h.built_in ? "built-in" : "declared")],
      ["state", (h) => (h.enabled === false ? "disabled" : "enabled")],
      ["", (h) => (h.built_in
        ? (h.enabled === false
          ? `<button data-act="enable" data-kind="${kind}" data-name="${esc(h.name)}">Enable</button>`
          : `<button class="danger" data-act="disable" data-kind="${kind}" data-name="${esc(h.name)}">Disable</button>`)
        : `<button class="danger" data-act="disable" data-kind="${kind}" data-name="${esc(h.name)}">Unregister</button>`)],
    ], { key: (h) => h.name });
  } catch (e) {
    box.innerHTML = failure(e);
  }
}

async function loadWebhooks() {
  const box = el.querySelector("#handlers-webhooks .rows");
  try {
    const { items } = await api("/handlers/events");
    box.innerHTML = table(items, [
      ["name", (h) => esc(h.name)],
      ["events", (h) => esc((h.event_types || []).join(", "))],
      ["url", (h) => `<code>${esc(h.url)}</code>`],
      ["stats", (h) => `<code>${esc(short(h.stats, 120))}</code>`],
      ["", (h) => `<button class="danger" data-act="remove-webhook" data-id="${esc(h.id)}">Remove</button>`],
    ], { key: (h) => h.id, empty: "no webhooks registered" });
  } catch (e) {
    box.innerHTML = failure(e);
  }
}

function shown(what, answer) {
  const box = el.querySelector("#handlers-result");
  box.className = "result";
  box.innerHTML = `<b>${esc(what)}</b>${json(answer)}`;
}

async function submit(e) {
  e.preventDefault();
  try {
    if (e.target.id === "webhook-form") {
      const v = formValues(e.target);
      const body = { url: v.url, secret: v.secret, event_types: v.event_types.split(",").map((s) => s.trim()).filter(Boolean) };
      if (v.name) body.name = v.name;
      shown("registered webhook", await api("/handlers/events", { method: "POST", body }));
    } else if (e.target.classList.contains("register")) {
      const kind = e.target.dataset.kind;
      shown(`registered ${kind.slice(0, -1)} type`, await api(`/handlers/${kind}`, { method: "POST", body: JSON.parse(formValues(e.target).body) }));
    }
    enter();
  } catch (err) {
    el.querySelector("#handlers-result").innerHTML = failure(err);
  }
}

async function act(e) {
  const b = e.target.closest("button[data-act]");
  if (!b) return;
  const { act: what, kind, name, id } = b.dataset;
  try {
    if (what === "disable") shown(`${name} off`, await api(`/handlers/${kind}/${encodeURIComponent(name)}`, { method: "DELETE" }));
    if (what === "enable") shown(`${name} on`, await api(`/handlers/${kind}/${encodeURIComponent(name)}/enable`, { method: "POST" }));
    if (what === "remove-webhook") shown(`removed ${id}`, await api(`/handlers/events/by-id/${encodeURIComponent(id)}`, { method: "DELETE" }));
    enter();
  } catch (err) {
    el.querySelector("#handlers-result").innerHTML = failure(err);
  }
}

function enter() {
  loadTypes("commands");
  loadTypes("queries");
  loadWebhooks();
}

export default { id: "handlers", title: "Handlers", needs: "admin", mount, enter };
