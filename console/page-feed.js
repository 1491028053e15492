// The live event feed: the `events` channel of /ws (every stored event as the projector
// sees it), newest first, filtered by type and aggregate id in the page.
import { socket } from "./api.js";
import { esc, formValues, table } from "./dom.js";

const KEEP = 500;
let el, ws, ctx, retry;
const events = [];

function mount(host, context) {
  el = host;
  ctx = context;
  el.innerHTML = `<h2>Live events</h2>
    <form class="filters" id="feed-filters">
      <label>type <input name="type" id="feed-type" placeholder="e.g. UserCreated"></label>
      <label>aggregate id <input name="aggregate" id="feed-aggregate"></label>
      <span>socket: <b id="feed-status">closed</b></span>
      <button type="button" id="feed-clear">Clear</button>
    </form>
    <div class="panel" id="feed-list"></div>`;
  el.querySelector("#feed-filters").addEventListener("input", render);
  el.querySelector("#feed-clear").addEventListener("click", () => { events.length = 0; render(); });
  el.querySelector("#feed-list").addEventListener("click", (e) => {
    const row = e.target.closest("tr[data-key]");
    if (row) ctx.go("inspector", row.dataset.key);
  });
  connect(); // from the start, so nothing is missed while another page is shown
}

function connect() {
  ws = socket("/ws?subscribe=events");
  const status = () => el.querySelector("#feed-status");
  ws.onopen = () => { status().textContent = "open"; };
  ws.onclose = (e) => {
    status().textContent = `closed (${e.code}); reconnecting`;
    clearTimeout(retry);
    retry = setTimeout(connect, 2000);
  };
  ws.onmessage = (m) => {
    let frame;
    try { frame = JSON.parse(m.data); } catch { return; }
    if (frame.type === "ack") status().textContent = `subscribed: ${(frame.channels || []).join(", ")}`;
    if (frame.channel !== "events" || !frame.event) return;
    events.unshift(frame.event);
    if (events.length > KEEP) events.pop();
    if (!el.hidden) render();
  };
}

function render() {
  const { type, aggregate } = formValues(el.querySelector("#feed-filters"));
  const shown = events.filter((e) => (!type || e.type.toLowerCase().includes(type.toLowerCase())) && (!aggregate || e.stream_id.includes(aggregate)));
  el.querySelector("#feed-list").innerHTML = `<p class="muted">${shown.length} of ${events.length} events received</p>` +
    table(shown.slice(0, 200), [
      ["position", (e) => esc(e.position)],
      ["type", (e) => esc(e.type)],
      ["aggregate", (e) => `${esc(e.stream_type)} <code>${esc(e.stream_id)}</code>`],
      ["version", (e) => esc(e.version)],
      ["occurred", (e) => esc(e.occurred_at)],
      ["command", (e) => `<code>${esc((e.metadata || {}).command_id || "")}</code>`],
    ], { key: (e) => e.stream_id, clickable: true, empty: "waiting for events…" });
}

export default { id: "feed", title: "Live events", mount, enter: render };
