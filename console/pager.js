// A filtered, paged listing over an API that answers {items, next_cursor}: Next follows
// the cursor, Previous goes back to the cursors seen before.
import { api } from "./api.js";
import { esc, failure, formValues, json, table } from "./dom.js";

export function pagedLog(host, { id, title, path, filters, columns, key, detail }) {
  host.innerHTML = `<h2>${esc(title)}</h2>
    <form class="filters" id="${id}-filters">${filters}
      <label>per page <select name="limit"><option>20</option><option>50</option><option>100</option></select></label>
      <button class="primary">Apply</button>
    </form>
    <div class="panel"><div id="${id}-rows"></div>
      <p><button type="button" id="${id}-prev">Previous</button> <span id="${id}-page"></span>
      <button type="button" id="${id}-next">Next</button></p></div>
    <div class="panel" id="${id}-detail" hidden></div>`;
  const form = host.querySelector(`#${id}-filters`);
  const state = { cursors: [undefined], next: null, items: [] };
  async function load() {
    const rows = host.querySelector(`#${id}-rows`);
    const query = { ...formValues(form), cursor: state.cursors[state.cursors.length - 1] };
    for (const k of ["since", "until"]) if (query[k]) query[k] = new Date(query[k]).toISOString();
    try {
      const page = await api(path, { query });
      state.items = page.items;
      state.next = page.next_cursor;
      rows.innerHTML = table(page.items, columns, { key, clickable: true });
    } catch (e) {
      rows.innerHTML = failure(e);
    }
    host.querySelector(`#${id}-page`).textContent = `page ${state.cursors.length}`;
    host.querySelector(`#${id}-prev`).disabled = state.cursors.length === 1;
    host.querySelector(`#${id}-next`).disabled = !state.next;
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); state.cursors = [undefined]; load(); });
  host.querySelector(`#${id}-next`).addEventListener("click", () => { state.cursors.push(state.next); load(); });
  host.querySelector(`#${id}-prev`).addEventListener("click", () => { state.cursors.pop(); load(); });
  host.querySelector(`#${id}-rows`).addEventListener("click", (e) => {
    const row = e.target.closest("tr[data-key]");
    const item = row && state.items.find((i) => String(key(i)) === row.dataset.key);
    const box = host.querySelector(`#${id}-detail`);
    if (!item) return;
    box.hidden = false;
    box.innerHTML = (detail ? detail(item) : "") + json(item);
  });
  return load;
}
