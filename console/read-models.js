// The read-model types, as the projector names them in its status (asked once).
import { api } from "./api.js";

let known = null;

export async function readModelTypes() {
  if (!known) {
    const status = await api("/projections");
    known = Object.keys(status.projections || {});
  }
  return known;
}
