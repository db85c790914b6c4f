"""The dashboard page: jobs of every kind with live progress, filters, a leaderboard, cancel.

A static page (CSS and JavaScript inline) that reads the API it is served by: ``/jobs``,
``/leaderboard`` and the server-sent events of ``/events`` (the browser's EventSource
reconnects by itself and sends ``Last-Event-ID``, so lifecycle events are not lost).
A browser without a session gets the sign-in page instead: the key is posted once to
``POST /session``, which keeps it in an HttpOnly cookie (docs/security.md).
"""

from __future__ import annotations

import json
from html import escape

from engine.metric_table import METRICS
from reports.page import CSS

DASHBOARD_CSS = """
.bar{background:#e6e9ee;border-radius:4px;height:8px;width:120px;display:inline-block}
.bar span{display:block;height:8px;border-radius:4px;background:#1f5fa8}
.status-completed{color:#1e8449}.status-failed{color:#c0392b}.status-cancelled{color:#7f8c8d}
.status-running,.status-cancelling{color:#1f5fa8}form{margin:0 0 10px}
select,button{margin-right:8px}
#live{font-size:12px;color:#c9d3e0}
"""

SCRIPT = """
const $ = (id) => document.getElementById(id);
const SENT_BY_US = {"X-Nautilus-Request": "dashboard"};
$("sign-out").addEventListener("click", async () => {
  await fetch("/session", {method: "DELETE"}); location.reload();
});
const ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"};
const esc = (t) => String(t ?? "").replace(/[&<>"]/g, (c) => ENTITIES[c]);
const rows = new Map();
function jobRow(j) {
  const pct = Number(j.progress_percentage || 0).toFixed(1);
  const active = ["queued", "running", "cancelling"].includes(j.status);
  return `<tr id="job-${esc(j.id)}"><td><a href="${esc(j.links.status)}">${esc(j.id)}</a></td>
    <td>${esc(j.kind)}</td><td>${esc(j.name)}</td><td>${esc(j.strategy_id)}</td>
    <td class="status-${esc(j.status)}">${esc(j.status)}</td>
    <td><span class="bar"><span style="width:${pct}%"></span></span>
    <span class="pct">${pct}%</span>
    <span class="note">${esc(j.progress_message)}</span></td>
    <td>${j.status === "completed" || j.kind === "optimization" && j.status === "cancelled"
          ? `<a href="${esc(j.links.report)}">report</a>` : ""}</td>
    <td>${active ? `<button data-cancel="${esc(j.links.cancel)}">cancel</button>` : ""}</td></tr>`;
}
async function loadJobs() {
  const params = new URLSearchParams();
  for (const f of ["kind", "status", "strategy_id"]) if ($(f).value) params.set(f, $(f).value);
  const body = await (await fetch(`/jobs?${params}`)).json();
  rows.clear();
  for (const j of body.items) rows.set(j.id, j);
  $("jobs").innerHTML = body.items.map(jobRow).join("") || '<tr><td colspan="8">no jobs</td></tr>';
}
async function loadLeaderboard() {
  const body = await (await fetch(`/leaderboard?metric=${$("metric").value}`)).json();
  $("leaders").innerHTML = body.items.map((e, i) => `<tr><td>${i + 1}</td>
    <td><a href="${esc(e.links.report)}">${esc(e.name)}</a></td><td>${esc(e.strategy_id)}</td>
    <td class="num">${e.value === null ? "n/a" : Number(e.value).toPrecision(4)}
    ${esc(body.unit === "ratio" ? "" : body.unit)}</td></tr>`).join("")
    || '<tr><td colspan="4">no completed backtests</td></tr>';
}
function onEvent(message) {
  const event = JSON.parse(message.data);
  const job = rows.get(event.job_id);
  const d = event.data || {};
  if (job && (d.progress_percentage !== undefined || d.iterations_total)) {
    job.progress_percentage =
      d.progress_percentage ?? 100 * d.iterations_completed / d.iterations_total;
    job.progress_message = d.progress_message || `${d.iterations_completed}/${d.iterations_total}`;
    job.status = job.status === "queued" ? "running" : job.status;
    $(`job-${job.id}`).outerHTML = jobRow(job);
  } else {
    loadJobs(); loadLeaderboard();
  }
  $("live").textContent = `live · last event ${event.type} at ${event.ts}`;
}
function connect() {
  const source = new EventSource("/events");
  for (const type of EVENT_TYPES) source.addEventListener(type, onEvent);
  source.onopen = () => { $("live").textContent = "live"; };
  source.onerror = () => { $("live").textContent = "reconnecting..."; };
}
document.addEventListener("click", async (e) => {
  const url = e.target.dataset && e.target.dataset.cancel;
  if (url) { await fetch(url, {method: "POST", headers: SENT_BY_US}); loadJobs(); }
});
for (const f of ["kind", "status", "strategy_id"]) $(f).addEventListener("change", loadJobs);
$("metric").addEventListener("change", loadLeaderboard);
loadJobs(); loadLeaderboard(); connect();
setInterval(loadJobs, 15000);
"""

EVENT_TYPES = (
    "backtest_start", "backtest_progress", "backtest_complete", "backtest_failed",
    "backtest_cancelled", "parameter_optimization", "stress_test_result",
)  # fmt: skip
STATUSES = ("queued", "running", "cancelling", "completed", "failed", "cancelled")


def _options(values: list[tuple[str, str]], selected: str = "") -> str:
    return "".join(
        f'<option value="{escape(v)}"{" selected" * (v == selected)}>{escape(label)}</option>'
        for v, label in values
    )


LOGIN_SCRIPT = """
document.getElementById("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const response = await fetch("/session", {
    method: "POST",
    headers: {"Content-Type": "application/json", "X-Nautilus-Request": "dashboard"},
    body: JSON.stringify({api_key: document.getElementById("api-key").value.trim()}),
  });
  if (response.ok) { location.reload(); return; }
  document.getElementById("login-error").textContent = (await response.json()).message;
});
"""


def _page(body: str, script: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Nautilus Backtest</title>"
        f"<style>{CSS}{DASHBOARD_CSS}</style></head><body><header><h1>Nautilus Backtest</h1>"
        f"{body}<script>{script}</script></body></html>"
    )


def render_login() -> str:
    """The sign-in page: one field for an API key (``nautilus-bt keys create``)."""
    return _page(
        '<p><a style="color:#fff" href="/docs">API docs</a></p></header><main><section>'
        '<h2>Sign in</h2><form id="login"><input id="api-key" type="password" size="70" '
        'autocomplete="off" placeholder="API key (nbt_...)" aria-label="API key">'
        '<button type="submit">Sign in</button></form><p id="login-error"></p>'
        "<p>The key stays in this browser's session cookie (HttpOnly) until you sign out or "
        "close the browser.</p></section></main>",
        LOGIN_SCRIPT,
    )


def render_dashboard(owner: str) -> str:
    """The dashboard's HTML (no external resource: nothing but the API is requested)."""
    kinds = [("", "all kinds"), ("backtest", "backtest"), ("optimization", "optimization"),
             ("stress_test", "stress test")]  # fmt: skip
    statuses = [("", "all statuses"), *[(s, s) for s in STATUSES]]
    metrics = [(m.name, f"{m.label} ({m.unit})") for m in METRICS if m.direction]
    script = f"const EVENT_TYPES = {json.dumps(EVENT_TYPES)};{SCRIPT}"
    return _page(
        '<p><a style="color:#fff" href="/docs">API docs</a> · <span id="live">connecting...</span>'
        f' · {escape(owner)} <button id="sign-out">sign out</button></p></header><main>'
        '<section><h2>Jobs</h2><form onsubmit="return false">'
        f'<select id="kind">{_options(kinds)}</select><select id="status">{_options(statuses)}'
        '</select><input id="strategy_id" placeholder="strategy id"></form><table><thead><tr>'
        "<th>id</th><th>kind</th><th>name</th><th>strategy</th><th>status</th><th>progress</th>"
        '<th></th><th></th></tr></thead><tbody id="jobs"></tbody></table></section>'
        '<section><h2>Leaderboard</h2><form onsubmit="return false">'
        f'<select id="metric">{_options(metrics, "sharpe_ratio")}</select></form><table><thead>'
        "<tr><th>#</th><th>backtest</th><th>strategy</th><th>value</th></tr></thead>"
        '<tbody id="leaders"></tbody></table></section></main>',
        script,
    )
