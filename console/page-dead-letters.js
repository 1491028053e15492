// Dead letters of the projection (the Kafka dead-letter topic) and of webhooks (given-up
// deliveries): inspect each, re-drive one or every one of a stream, see the answer.
// Re-driving every webhook dead letter of a stream retries them one by one, oldest
// version first (the API's retry is per dead letter).
import { api } from "./api.js";
import { esc, failure, formValues, json, short, table } from "./dom.js";

const DLQ = "/projections/dlq";
const HOOKS = "/handlers/events/dead-letters";
let el, projection = [], webhooks = [];

function mount(host) {
  el = host;
  el.innerHTML = `<h2>Dead letters</h2>
    <form class="filters" id="dlq-filters">
      <label>stream (aggregate id) <input name="stream" id="dlq-stream"></label>
      <button class="primary">Filter</button>
      <button type="button" id="dlq-reload">Reload</button>
    </form>
    <div class="panel"><h3>Result</h3><div id="dlq-result" class="result muted">nothing re-driven yet</div></div>
    <div class="panel"><h3>Projection (<code>events.dlq</code> topic)</h3><div id="dlq-projection"></div></div>
    <div class="panel"><h3>Webhook deliveries</h3><div id="dlq-webhooks"></div></div>
    <div class="panel" id="dlq-detail" hidden></div>`;
  el.querySelector("#dlq-filters").addEventListener("submit", (e) => { e.preventDefault(); render(); });
  el.querySelector("#dlq-reload").addEventListener("click", load);
  el.addEventListener("click", act);
}

const streamOf = (d) => d.key || (d.payload && d.payload.stream_id) || "";
const filter = () => formValues(el.querySelector("#dlq-filters")).stream;

function render() {
  const stream = filter();
  const mine = (s) => !stream || s === stream;
  const p = projection.filter((d) => mine(streamOf(d)));
  const w = webhooks.filter((d) => mine(d.stream_id));
  el.querySelector("#dlq-projection").innerHTML = table(p, [
    ["ref", (d) => `<code>${esc(d.ref)}</code>`],
    ["stream", (d) => `<code>${esc(streamOf(d))}</code>`],
    ["event", (d) => `${esc(d.event_type || "?")} <code>${esc(d.event_id || "")}</code>`],
    ["error", (d) => esc(short(d.error, 120))],
    ["", (d) => `<button data-act="inspect-p" data-ref="${esc(d.ref)}">Inspect</button>
      <button data-needs="admin" data-act="redrive-p" data-ref="${esc(d.ref)}">Re-drive</button>
      ${streamOf(d) ? `<button data-needs="admin" data-act="redrive-p-stream" data-stream="${esc(streamOf(d))}">Re-drive stream</button>` : ""}`],
  ], { key: (d) => d.ref, empty: "no dead letters" });
  el.querySelector("#dlq-webhooks").innerHTML = table(w, [
    ["handler", (d) => esc(d.handler_name || d.handler_id)],
    ["stream", (d) => `<code>${esc(d.stream_id)}</code> v${esc(d.version)}`],
    ["event", (d) => `${esc(d.event_type)} <code>${esc(d.event_id)}</code>`],
    ["attempts", (d) => esc(d.attempts)],
    ["last error", (d) => esc(short(d.last_error, 120))],
    ["", (d) => `<button data-act="inspect-w" data-id="${esc(d.id)}">Inspect</button>
      <button data-needs="admin" data-act="redrive-w" data-id="${esc(d.id)}">Re-drive</button>
      <button data-needs="admin" data-act="redrive-w-stream" data-stream="${esc(d.stream_id)}">Re-drive stream</button>`],
  ], { key: (d) => d.id, empty: "no dead letters" });
}

async function load() {
  el.querySelector("#dlq-projection").innerHTML = el.querySelector("#dlq-webhooks").innerHTML = '<p class="muted">loading…</p>';
  const [p, w] = await Promise.allSettled([api(DLQ), api(HOOKS, { query: { limit: 200 } })]);
  projection = p.status === "fulfilled" ? p.value.items : [];
  webhooks = w.status === "fulfilled" ? w.value.items : [];
  render();
  if (p.status === "rejected") el.querySelector("#dlq-projection").innerHTML = failure(p.reason);
  if (w.status === "rejected") el.querySelector("#dlq-webhooks").innerHTML = failure(w.reason);
}

function shown(what, answer) {
  const box = el.querySelector("#dlq-result");
  box.className = "result";
  box.innerHTML = `<b>${esc(what)}</b>${json(answer)}`;
}

async function act(e) {
  const b = e.target.closest("button[data-act]");
  if (!b) return;
  const detail = el.querySelector("#dlq-detail");
  try {
    switch (b.dataset.act) {
      case "inspect-p":
        detail.hidden = false;
        detail.innerHTML = json(projection.find((d) => d.ref === b.dataset.ref));
        return;
      case "inspect-w":
        detail.hidden = false;
        detail.innerHTML = json(webhooks.find((d) => d.id === b.dataset.id));
        return;
      case "redrive-p":
        shown(`re-drove ${b.dataset.ref}`, await api(`${DLQ}/${encodeURIComponent(b.dataset.ref)}/retry`, { method: "POST" }));
        return;
      case "redrive-p-stream":
        shown(`re-drove stream ${b.dataset.stream}`, await api(`${DLQ}/streams/${encodeURIComponent(b.dataset.stream)}/retry`, { method: "POST" }));
        return;
      case "redrive-w":
        shown(`re-delivered ${b.dataset.id}`, await api(`${HOOKS}/${encodeURIComponent(b.dataset.id)}/retry`, { method: "POST" }));
        break;
      case "redrive-w-stream": {
        const of = webhooks.filter((d) => d.stream_id === b.dataset.stream).sort((x, y) => x.version - y.version);
        const answers = [];
        for (const d of of) answers.push({ id: d.id, ...(await api(`${HOOKS}/${encodeURIComponent(d.id)}/retry`, { method: "POST" })) });
        shown(`re-delivered stream ${b.dataset.stream}`, answers);
        break;
      }
    }
    await load(); // a delivered webhook dead letter leaves the list
  } catch (err) {
    el.querySelector("#dlq-result").innerHTML = failure(err);
  }
}

export default { id: "dead-letters", title: "Dead letters", needs: "admin", mount, enter: load };
