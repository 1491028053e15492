// The command log (GET /api/v1/cqrs/commands): by type, status and time, newest first.
import { esc } from "./dom.js";
import { pagedLog } from "./pager.js";

let load;

function mount(host, ctx) {
  load = pagedLog(host, {
    id: "cmdlog",
    title: "Command log",
    path: "/commands",
    filters: `<label>type <input name="type"></label>
      <label>status <select name="status"><option value="">any</option><option>accepted</option><option>rejected</option></select></label>
      <label>since <input name="since" type="datetime-local"></label>
      <label>until <input name="until" type="datetime-local"></label>`,
    columns: [
      ["received", (c) => esc(c.received_at)],
      ["type", (c) => esc(c.type)],
      ["status", (c) => `${esc(c.status)} (${esc(c.http_status)})`],
      ["aggregate", (c) => (c.aggregate_id ? `<a href="#inspector/${encodeURIComponent(c.aggregate_id)}">${esc(c.aggregate_id)}</a>` : "")],
      ["actor", (c) => esc(c.actor)],
      ["ms", (c) => esc(c.duration_ms)],
    ],
    key: (c) => c.command_id,
  });
  void ctx;
}

export default { id: "commands", title: "Command log", mount, enter: () => load() };
