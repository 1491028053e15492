// Building the pages' markup: escaping, tables, JSON blocks, badges, errors.
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

export function badge(status) {
  return `<span class="badge ${esc(status)}">${esc(status)}</span>`;
}

export function json(value) {
  return `<pre>${esc(JSON.stringify(value, null, 2))}</pre>`;
}

export function short(value, n = 80) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text && text.length > n ? text.slice(0, n) + "…" : text ?? "";
}

// columns: [[heading, row => html]]; rows get data-key from key(row) when given.
export function table(rows, columns, { key, clickable = false, empty = "nothing here" } = {}) {
  if (!rows.length) return `<p class="muted">${esc(empty)}</p>`;
  const head = columns.map(([h]) => `<th>${esc(h)}</th>`).join("");
  const body = rows
    .map((row) => {
      const attrs = key ? ` data-key="${esc(key(row))}"` : "";
      return `<tr${attrs}${clickable ? ' class="clickable"' : ""}>${columns.map(([, cell]) => `<td>${cell(row)}</td>`).join("")}</tr>`;
    })
    .join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export function failure(error) {
  return `<p class="error">${esc(error && error.message ? error.message : error)}</p>`;
}

export function formValues(form) {
  return Object.fromEntries([...new FormData(form).entries()].map(([k, v]) => [k, String(v).trim()]));
}
