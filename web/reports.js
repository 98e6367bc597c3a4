// The printable reports the daemon writes (twitchd.report): a session's, and a
// patient's visits compared. Each opens in a new tab as one self-contained
// page that the browser prints to PDF. The links carry the page's ?token= like
// every other API URL (live.js apiUrl), and no opener: the report is a page of
// its own.

import { apiUrl } from "./live.js";

export const reportUrl = (id) => apiUrl(`./api/sessions/${Number(id)}/report`);
export const patientReportUrl = (patient) => apiUrl("./api/patients/report", { patient });

/** Makes `a` open `href` in a new tab. */
export function asReportLink(a, href) {
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener";
  return a;
}

/** The header's "Report" link: shown once a recording has stopped, for that session, until the next starts. */
export class ReportLink {
  constructor(a) {
    this.a = a;
    a.hidden = true;
  }

  /** The recording's status. */
  update(st) {
    const id = st?.session_id;
    const show = id != null && st.state !== "recording";
    this.a.hidden = !show;
    if (!show) return;
    asReportLink(this.a, reportUrl(id));
    this.a.textContent = `Report #${id}`;
    this.a.title = `The printable report of session ${id} (opens in a new tab; print it to PDF)`;
  }
}
