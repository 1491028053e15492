// The query log (GET /api/v1/cqrs/queries): by type and time, newest first.
import { esc, short } from "./dom.js";
import { pagedLog } from "./pager.js";

let load;

function mount(host) {
  load = pagedLog(host, {
    id: "qlog",
    title: "Query log",
    path: "/queries",
    filters: `<label>type <input name="type"></label>
      <label>since <input name="since" type="datetime-local"></label>`,
    columns: [
      ["at", (q) => esc(q.at)],
      ["type", (q) => esc(q.type)],
      ["status", (q) => esc(q.status)],
      ["source", (q) => esc(q.source)],
      ["data", (q) => `<code>${esc(short(q.data))}</code>`],
      ["actor", (q) => esc(q.actor)],
      ["ms", (q) => esc(q.duration_ms)],
    ],
    key: (q) => q.query_id,
  });
}

export default { id: "queries", title: "Query log", mount, enter: () => load() };
