// Rates from counters: each poll's totals against the previous poll's, per second. A
// counter that went down (a restart, retention of the command log) gives no rate that
// poll rather than a negative one.
export class Rate {
  constructor() { this.last = null; }

  push(seconds, total) {
    const previous = this.last;
    this.last = [seconds, total];
    if (previous === null || total === null) return null;
    const [t0, v0] = previous;
    if (total < v0 || seconds <= t0) return null;
    return (total - v0) / (seconds - t0);
  }
}

// Sum every number under a value (nested objects of counts, e.g. {type: {status: n}}).
export function total(value) {
  if (typeof value === "number") return value;
  if (value && typeof value === "object") return Object.values(value).reduce((s, v) => s + total(v), 0);
  return 0;
}

// The figures the overview charts from one answer of GET /api/v1/cqrs/stats (every
// instance). Command and event counts and the outbox come from the one event store, so
// every command-service instance tells the same: the largest is taken, not the sum;
// queries are counted per query replica, so those add up.
export function figures(stats) {
  const ok = (name) => ((stats.services || {})[name] || []).filter((e) => e.status === "ok").map((e) => e.stats);
  const commandSide = ok("command"), querySide = ok("query"), projectors = ok("projector");
  const max = (xs) => (xs.length ? Math.max(...xs) : null);
  const queries = querySide.length
    ? querySide.reduce((s, q) => s + (q.queries !== undefined ? total(q.queries) : queryLogCount(q.query_log)), 0)
    : null;
  const lag = {};
  for (const p of projectors) {
    for (const [partition, entry] of Object.entries((p.consumer_lag || {}).partitions || {})) {
      lag[`p${partition}`] = Math.max(lag[`p${partition}`] || 0, entry.lag);
    }
  }
  return {
    commands: max(commandSide.map((c) => total(c.commands))),
    events: max(commandSide.map((c) => total(c.events))),
    outbox: max(commandSide.map((c) => c.outbox_backlog)),
    queries,
    lag,
  };
}

function queryLogCount(log) {
  if (!log) return 0;
  return (log.written || 0) + (log.buffered || 0) + (log.dropped || 0) + (log.failed || 0);
}
