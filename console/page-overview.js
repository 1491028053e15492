// System health of every instance (failing ones named) and live charts polled from the
// stats of every instance every 2 s: commands, events and queries per second, consumer
// lag per partition, outbox backlog.
import { api } from "./api.js";
import { LineChart } from "./chart.js";
import { Rate, figures } from "./rates.js";
import { badge, esc, failure, table } from "./dom.js";

const POLL_MS = 2000;
let el, timer, charts, rates;

function mount(host) {
  el = host;
  el.innerHTML = `<h2>Overview</h2>
    <div class="panel" id="health"><h3>Health</h3><div class="body">…</div></div>
    <div class="grid">
      <div class="panel" id="chart-rates"></div>
      <div class="panel" id="chart-lag"></div>
      <div class="panel" id="chart-outbox"></div>
    </div>
    <p class="muted" id="stats-note"></p>`;
  charts = {
    rates: new LineChart(el.querySelector("#chart-rates"), { title: "Rates", unit: "/s" }),
    lag: new LineChart(el.querySelector("#chart-lag"), { title: "Consumer lag per partition", unit: " events" }),
    outbox: new LineChart(el.querySelector("#chart-outbox"), { title: "Outbox backlog", unit: " rows" }),
  };
  rates = { commands: new Rate(), events: new Rate(), queries: new Rate() };
}

function checks(instance) {
  const bad = Object.entries(instance.checks || {}).filter(([, c]) => c.status !== "up");
  if (instance.error) return esc(instance.error);
  return bad.length ? bad.map(([name, c]) => `${esc(name)}: ${esc(c.error || c.status)}`).join("<br>") : '<span class="muted">all checks up</span>';
}

async function health() {
  const body = el.querySelector("#health .body");
  try {
    const h = await api("/health", { accept: [503] });
    const failing = (h.failing || []).length
      ? `<p class="error" id="failing">failing: ${h.failing.map(esc).join(", ")}</p>`
      : '<p class="muted" id="failing">no instance failing</p>';
    body.innerHTML = `<p>system ${badge(h.status)}</p>${failing}` +
      table(h.services || [], [
        ["service", (i) => esc(i.service)],
        ["instance", (i) => esc(i.url)],
        ["status", (i) => badge(i.status)],
        ["latency", (i) => `${esc(i.latency_ms)} ms`],
        ["problems", checks],
      ], { key: (i) => `${i.service}@${i.url}` });
  } catch (e) {
    body.innerHTML = failure(e);
  }
}

async function stats() {
  const note = el.querySelector("#stats-note");
  try {
    const s = await api("/stats");
    const f = figures(s);
    const t = Date.now() / 1000;
    charts.rates.push(t, {
      commands: rates.commands.push(t, f.commands),
      events: rates.events.push(t, f.events),
      queries: rates.queries.push(t, f.queries),
    });
    charts.lag.push(t, f.lag);
    charts.outbox.push(t, { backlog: f.outbox });
    note.textContent = `${s.answering} of ${s.instances} instances answered; polled every ${POLL_MS / 1000} s`;
  } catch (e) {
    note.innerHTML = failure(e);
  }
}

function tick() {
  health();
  stats();
}

export default {
  id: "overview",
  title: "Overview",
  mount,
  enter() {
    clearInterval(timer);
    tick();
    timer = setInterval(tick, POLL_MS);
  },
  leave() {
    clearInterval(timer);
  },
};
