// Projection status per read model (GET /projections: position, lag per partition,
// rebuild state) and the rebuild: start it, then watch its progress until it ends.
import { api } from "./api.js";
import { badge, esc, failure, table } from "./dom.js";

let el, timer;

function mount(host) {
  el = host;
  el.innerHTML = `<h2>Projections</h2>
    <div class="panel" data-needs="admin"><h3>Rebuild every read model</h3>
      <p class="muted">Replays the event store into staging collections while the live ones keep
      serving, then switches them in (no downtime).</p>
      <button class="primary" id="rebuild-start">Start rebuild</button>
      <div id="rebuild-state"></div></div>
    <div class="panel"><h3>Status</h3><div id="projection-status"></div></div>`;
  el.querySelector("#rebuild-start").addEventListener("click", start);
}

function progressOf(job) {
  if (!job || job.state === "idle") return '<p class="muted">no rebuild started over HTTP yet</p>';
  const pct = job.total ? Math.round((100 * job.done) / job.total) : 0;
  return `<p id="rebuild-badge">${badge(job.state)} ${esc(job.done)} of ${esc(job.total)} events (${pct}%)</p>
    <progress id="rebuild-progress" max="${esc(job.total || 1)}" value="${esc(job.done)}"></progress>
    <p class="muted">started ${esc(job.started_at)}${job.started_by ? ` by ${esc(job.started_by)}` : ""}${job.finished_at ? `, finished ${esc(job.finished_at)}` : ""}${job.events !== null && job.events !== undefined ? `; ${esc(job.events)} events replayed` : ""}</p>
    ${job.error ? `<p class="error">${esc(job.error)}</p>` : ""}`;
}

async function watch() {
  const box = el.querySelector("#rebuild-state");
  try {
    const job = await api("/projections/rebuild");
    box.innerHTML = progressOf(job);
    el.querySelector("#rebuild-start").disabled = job.state === "running";
    if (job.state !== "running") { clearInterval(timer); timer = null; status(); }
  } catch (e) {
    box.innerHTML = failure(e);
  }
}

async function start() {
  const box = el.querySelector("#rebuild-state");
  try {
    box.innerHTML = progressOf(await api("/projections/rebuild", { method: "POST" }));
    clearInterval(timer);
    timer = setInterval(watch, 1000);
  } catch (e) {
    box.innerHTML = failure(e);
  }
}

async function status() {
  const box = el.querySelector("#projection-status");
  try {
    const s = await api("/projections");
    const models = Object.entries(s.projections || {});
    box.innerHTML = `<p>processed ${esc(s.processed)} events in ${esc(s.batches)} batches; dead-lettered ${esc(s.dead_lettered)};
      last stored ${esc(s.last_stored_at || "never")}; topic <code>${esc(s.topic)}</code>, group <code>${esc(s.group_id)}</code></p>` +
      table(models, [
        ["read model", ([name]) => esc(name)],
        ["last position", ([, p]) => esc(p.last_position)],
        ["lag", ([, p]) => esc(p.lag)],
        ["partitions", ([, p]) => Object.entries(p.partitions || {}).map(([n, q]) => `p${esc(n)}: offset ${esc(q.offset)} / ${esc(q.high_water)} (lag ${esc(q.lag)})`).join("<br>")],
        ["rebuild", ([, p]) => (p.rebuild && p.rebuild.running ? badge("running") + ` into <code>${esc(p.rebuild.staging_suffix)}</code>` : '<span class="muted">none</span>')],
      ], { key: ([name]) => name });
  } catch (e) {
    box.innerHTML = failure(e);
  }
}

export default {
  id: "projections",
  title: "Projections",
  mount,
  async enter() {
    status();
    if (document.body.classList.contains("can-admin")) {
      await watch();
      if (el.querySelector("#rebuild-badge .running") && !timer) timer = setInterval(watch, 1000);
    }
  },
  leave() { clearInterval(timer); timer = null; },
};
