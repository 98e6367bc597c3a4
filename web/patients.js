// Patients and their visits in the Sessions panel: a patient is the
// pseudonymous code on a session (GET /api/patients), and a patient's sessions
// are their visits. The panel can show one patient's visits only, and each
// patient's heading links to the daemon's report that compares the visits.

import { get } from "./api.js";
import { asReportLink, patientReportUrl } from "./reports.js";

/** [{patient, visits, ltrs, first, last, sessions}], the most recently seen first; [] if the daemon cannot say. */
export async function fetchPatients() {
  try {
    const list = await get("./api/patients");
    return Array.isArray(list) ? list.filter((p) => typeof p?.patient === "string" && p.patient) : [];
  } catch {
    return [];
  }
}

/** One patient's sessions, from the daemon's own filter. */
export const fetchVisits = (patient) => get("./api/sessions", { patient });

/**
 * Sessions grouped by patient, in the order of `patients` (the daemon's: latest visit first),
 * then the sessions without a code: [{patient, info, sessions}], each group's sessions newest first.
 */
export function groupByPatient(sessions, patients) {
  const groups = new Map(patients.map((p) => [p.patient, { patient: p.patient, info: p, sessions: [] }]));
  const none = { patient: "", info: null, sessions: [] };
  for (const s of sessions) {
    const code = typeof s.patient === "string" ? s.patient : "";
    if (!code) { none.sessions.push(s); continue; }
    if (!groups.has(code)) groups.set(code, { patient: code, info: null, sessions: [] });
    groups.get(code).sessions.push(s);
  }
  const out = [...groups.values()].filter((g) => g.sessions.length);
  if (none.sessions.length) out.push(none);
  for (const g of out) g.sessions.sort((a, b) => b.id - a.id);
  return out;
}

/** The options of the patient filter: every code, with its number of visits. */
export function fillPatientFilter(select, patients) {
  const keep = select.value;
  const opts = [new Option("all patients", ""), ...patients.map((p) =>
    new Option(`${p.patient} · ${p.visits} visit${p.visits === 1 ? "" : "s"}`, p.patient))];
  select.replaceChildren(...opts);
  select.value = patients.some((p) => p.patient === keep) ? keep : "";
}

/** A group's heading: the code, its visits and LTRs, and "Compare visits" (a new tab). */
export function patientHeading(group) {
  const li = document.createElement("li");
  li.className = "patient-head";
  li.dataset.patient = group.patient;
  const name = document.createElement("b");
  name.textContent = group.patient || "no patient code";
  li.append(name);
  const n = group.info?.visits ?? group.sessions.length;
  const facts = document.createElement("span");
  facts.className = "muted";
  facts.textContent = group.patient ? ` · ${n} visit${n === 1 ? "" : "s"} · ${group.info?.ltrs ?? "?"} LTR in all` : "";
  li.append(facts);
  if (group.patient) {
    const a = asReportLink(document.createElement("a"), patientReportUrl(group.patient));
    a.className = "small";
    a.textContent = "Compare visits";
    a.title = `LTRs and PPT per site over ${group.patient}'s visits (opens in a new tab; print it to PDF)`;
    a.dataset.testid = "compare-visits";
    li.append(" ", a);
  }
  return li;
}
