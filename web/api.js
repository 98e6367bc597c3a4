// REST calls to the daemon: every URL carries the page's ?token= (via apiUrl),
// and a refusal comes back as an ApiError whose message is the daemon's `detail`.

import { apiUrl } from "./live.js";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** FastAPI's `detail` is a string, or a list of {loc, msg} for invalid input. */
export function detailText(body, status) {
  const d = body?.detail;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) {
    return d.map((e) => {
      const where = Array.isArray(e?.loc) ? e.loc.filter((p) => p !== "body" && p !== "query").join(".") : "";
      return (where ? where + ": " : "") + (e?.msg ?? "invalid");
    }).join("; ");
  }
  return `HTTP ${status}`;
}

/** JSON request; resolves to the parsed body, rejects with ApiError (status 0 = daemon unreachable). */
export async function api(method, path, { body, params } = {}) {
  let r;
  try {
    r = await fetch(apiUrl(path, params), {
      method,
      cache: "no-store",
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, "the daemon is not reachable");
  }
  let parsed = null;
  try { parsed = await r.json(); } catch { /* empty or not JSON */ }
  if (!r.ok) throw new ApiError(r.status, detailText(parsed, r.status));
  return parsed;
}

export const get = (path, params) => api("GET", path, { params });
export const post = (path, body) => api("POST", path, { body: body ?? {} });
export const put = (path, body) => api("PUT", path, { body });
export const del = (path) => api("DELETE", path);
