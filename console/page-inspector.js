// An aggregate inspector: an id -> its event stream (events API), every read-model
// document of that id (GET /read-models/{id}?type=, one per read model), and the commands
// that produced the events (the command log, by each event's metadata.command_id).
import { ApiError, api } from "./api.js";
import { esc, failure, formValues, json, table } from "./dom.js";
import { readModelTypes } from "./read-models.js";

const MAX_PAGES = 10; // of 100 events
let el;

function mount(host, ctx) {
  el = host;
  el.innerHTML = `<h2>Aggregate inspector</h2>
    <form class="filters" id="inspect-form">
      <label>aggregate id <input name="id" id="inspect-id" size="40" required></label>
      <button class="primary" id="inspect-go">Inspect</button>
    </form>
    <div class="grid">
      <div class="panel wide" id="inspect-events"><h3>Events</h3><div class="body"></div></div>
      <div class="panel" id="inspect-models"><h3>Read models</h3><div class="body"></div></div>
      <div class="panel" id="inspect-commands"><h3>Commands</h3><div class="body"></div></div>
    </div>`;
  el.querySelector("#inspect-form").addEventListener("submit", (e) => {
    e.preventDefault();
    ctx.go("inspector", formValues(e.target).id);
  });
}

async function streamOf(id) {
  const found = [];
  let cursor;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await api("/events", { query: { aggregate_id: id, limit: 100, cursor } });
    found.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return found;
}

async function documentsOf(id) {
  const docs = [];
  for (const type of await readModelTypes()) {
    try {
      docs.push(await api(`/read-models/${encodeURIComponent(id)}`, { query: { type } }));
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    }
  }
  return docs;
}

async function commandsOf(events) {
  const ids = [...new Set(events.map((e) => (e.metadata || {}).command_id).filter(Boolean))];
  return Promise.all(ids.map((cid) => api(`/commands/${encodeURIComponent(cid)}`).catch((e) => ({ command_id: cid, error: e.message }))));
}

async function inspect(id) {
  el.querySelector("#inspect-id").value = id;
  const [evBody, rmBody, cmdBody] = ["#inspect-events", "#inspect-models", "#inspect-commands"].map((s) => el.querySelector(`${s} .body`));
  if (!id) { evBody.innerHTML = rmBody.innerHTML = cmdBody.innerHTML = ""; return; }
  evBody.innerHTML = rmBody.innerHTML = cmdBody.innerHTML = '<p class="muted">loading…</p>';
  try {
    const events = await streamOf(id);
    evBody.innerHTML = table(events, [
      ["v", (e) => esc(e.version)],
      ["type", (e) => esc(e.type)],
      ["position", (e) => esc(e.position)],
      ["occurred", (e) => esc(e.occurred_at)],
      ["data", (e) => json(e.data)],
    ], { key: (e) => e.event_id, empty: "no events for this id" });
    commandsOf(events).then((cmds) => {
      cmdBody.innerHTML = table(cmds, [
        ["command", (c) => `<code>${esc(c.command_id)}</code>`],
        ["type", (c) => esc(c.type)],
        ["status", (c) => esc(c.status || c.error)],
        ["actor", (c) => esc(c.actor)],
        ["received", (c) => esc(c.received_at)],
        ["request", (c) => json(c.request)],
      ], { key: (c) => c.command_id, empty: "no command produced these events (admin appends have none)" });
    }, (e) => { cmdBody.innerHTML = failure(e); });
  } catch (e) {
    evBody.innerHTML = failure(e);
    cmdBody.innerHTML = "";
  }
  try {
    const docs = await documentsOf(id);
    rmBody.innerHTML = docs.length
      ? docs.map((d) => `<div class="read-model" data-type="${esc(d.type)}"><b>${esc(d.type)}</b>${json(d.data)}</div>`).join("")
      : '<p class="muted">no read-model document with this id</p>';
  } catch (e) {
    rmBody.innerHTML = failure(e);
  }
}

export default { id: "inspector", title: "Inspector", mount, enter: inspect };
