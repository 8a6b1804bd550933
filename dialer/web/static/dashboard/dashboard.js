// The managers' dashboard: the web API from the browser (its session cookie, and the
// CSRF token in X-CSRF-Token on every change). A campaign's page follows its figures
// over server-sent events. No inline script: the CSP forbids it.
"use strict";

const $ = (id) => document.getElementById(id);
const FINAL = new Set(["completed", "stopped", "failed"]);
const ACTIONS = { draft: ["start"], scheduled: ["stop"], running: ["pause", "stop"], paused: ["resume", "stop"] };

let csrf = null;
let live = null; // the EventSource of the campaign page shown

function text(id, value) { $(id).textContent = value; }
function show(id, visible) { $(id).hidden = !visible; }
function say(message) { text("error", message || ""); show("error", Boolean(message)); }

// One request: JSON or a multipart form (FormData) out; the answer, once it is a success.
async function send(method, path, body) {
  const headers = {};
  const form = body instanceof FormData;
  if (method !== "GET") headers["X-CSRF-Token"] = csrf || "";
  if (body !== undefined && !form) headers["Content-Type"] = "application/json";
  const answer = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined || form ? body : JSON.stringify(body),
  });
  if (answer.status === 401 && path !== "/api/session") {
    csrf = null;
    route();
  }
  if (!answer.ok) {
    const error = isJson(answer) ? (await answer.json()).error : null;
    const details = (error?.details || []).map((d) => `${d.at}: ${d.message}`).join("; ");
    throw new Error(error ? `${error.message}${details ? ` (${details})` : ""}` : `HTTP ${answer.status}`);
  }
  return answer;
}

function isJson(answer) { return Boolean(answer.headers.get("Content-Type")?.startsWith("application/json")); }

async function api(method, path, body) {
  const answer = await send(method, path, body);
  return isJson(answer) ? answer.json() : null;
}

// -- session -----------------------------------------------------------------------------

async function whoAmI() {
  try {
    const session = await api("GET", "/api/session");
    csrf = session.csrf;
    text("who-name", session.user.username);
    text("who-role", session.user.role);
    show("who", true);
    show("nav", true);
    return true;
  } catch (err) {
    show("who", false);
    show("nav", false);
    return false;
  }
}

async function logIn(event) {
  event.preventDefault();
  try {
    await api("POST", "/api/session", { username: $("username").value, password: $("password").value });
    $("password").value = "";
    say("");
    await route();
  } catch (err) {
    say(err.message);
  }
}

async function logOut() {
  try { await api("DELETE", "/api/session"); } catch (err) { /* gone already */ }
  csrf = null;
  show("who", false);
  show("nav", false);
  location.hash = "#/campaigns";
  route();
}

// -- views -------------------------------------------------------------------------------

// Each page is a <section class="view"> and a route: a hash pattern and the function
// that shows it (given the pattern's match). The other pages' scripts register theirs.
const routes = [];

function register(pattern, handler) { routes.push([pattern, handler]); }

function view(id) {
  for (const section of document.querySelectorAll("section.view")) section.hidden = section.id !== id;
  document.body.dataset.view = id;
  if (id !== "campaign-view" && live) { live.close(); live = null; }
  window.dispatchEvent(new CustomEvent("dashboard:view", { detail: id }));
}

async function route() {
  if (!csrf && !(await whoAmI())) return view("login-view");
  for (const [pattern, handler] of routes) {
    const match = location.hash.match(pattern);
    if (match) return handler(match);
  }
  return showList();
}

async function showList() {
  view("list-view");
  const params = new URLSearchParams({ sort: "id", order: "desc" });
  if ($("filter-state").value) params.set("state", $("filter-state").value);
  if ($("filter-q").value.trim()) params.set("q", $("filter-q").value.trim());
  try {
    const listed = await api("GET", `/api/campaigns?${params}`);
    $("campaigns").tBodies[0].replaceChildren(...listed.campaigns.map(campaignRow));
    text("list-total", `${listed.total} campaign${listed.total === 1 ? "" : "s"}`);
  } catch (err) {
    say(err.message);
  }
}

function campaignRow(campaign) {
  const tr = document.createElement("tr");
  tr.dataset.campaign = campaign.campaign;
  const link = document.createElement("a");
  link.href = `#/campaigns/${campaign.campaign}`;
  link.textContent = campaign.name; // never innerHTML: names are not markup
  const p = campaign.progress;
  const cells = [String(campaign.campaign), link, badge(campaign.state),
    `${p.total - p.remaining} of ${p.total} done`, controls(campaign, p.remaining)];
  for (const cell of cells) {
    const td = document.createElement("td");
    td.append(cell);
    tr.append(td);
  }
  return tr;
}

function badge(state) {
  const span = document.createElement("span");
  span.className = `badge ${state}`;
  span.textContent = state;
  return span;
}

function controls(campaign, remaining) {
  const span = document.createElement("span");
  for (const action of ACTIONS[campaign.state] || []) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = action[0].toUpperCase() + action.slice(1);
    button.dataset.action = action;
    button.addEventListener("click", () => act(campaign, action, remaining).then(showList));
    span.append(button);
  }
  return span;
}

async function act(campaign, action, remaining) {
  if (action === "stop" && !confirm(
    `Stop "${campaign.name}" for good? ${remaining} contact${remaining === 1 ? "" : "s"} not yet called will not be called.`,
  )) return;
  try {
    await api("POST", `/api/campaigns/${campaign.campaign}/${action}`);
    say("");
  } catch (err) {
    say(err.message);
  }
}

// -- one campaign, live ------------------------------------------------------------------

function showCampaign(id) {
  view("campaign-view");
  if (live) live.close();
  $("c-export").href = `/api/campaigns/${id}/results.csv`;
  live = new EventSource(`/api/campaigns/${id}/live`);
  live.addEventListener("campaign", (event) => figures(JSON.parse(event.data)));
  live.onerror = () => {
    text("c-live", FINAL.has(document.body.dataset.state) ? "final" : "reconnecting…");
  };
  for (const button of document.querySelectorAll("#campaign-view button[data-action]")) {
    button.onclick = () => act(current, button.dataset.action, current.progress.remaining);
  }
}

let current = null;

function figures(snapshot) {
  current = snapshot;
  const p = snapshot.progress;
  text("c-name", snapshot.name);
  const state = $("c-state");
  state.className = `badge ${snapshot.state}`;
  state.textContent = snapshot.state;
  document.body.dataset.state = snapshot.state;
  for (const key of ["total", "called", "completed", "failed", "remaining"]) text(`c-${key}`, String(p[key]));
  text("c-retrying", String(snapshot.retrying));
  text("c-in-progress", String(p.in_progress));
  text("c-next", p.next_call);
  text("c-success", `${Math.round(p.success_rate * 100)}%`);
  const done = p.total ? Math.round((100 * p.final) / p.total) : 100;
  $("c-bar").style.width = `${done}%`;
  $("c-bar").parentElement.setAttribute("aria-valuenow", String(done));
  text("c-eta", snapshot.eta_s === null ? `${done}% done` : `${done}% done, about ${Math.ceil(snapshot.eta_s)} s to go`);
  const rows = Object.entries(snapshot.outcomes).sort().map(([outcome, n]) => {
    const tr = document.createElement("tr");
    tr.dataset.outcome = outcome;
    for (const value of [outcome.replace("_", " "), String(n)]) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.append(td);
    }
    return tr;
  });
  $("c-outcomes").tBodies[0].replaceChildren(...rows);
  const a = snapshot.abandonment;
  text("c-abandonment", `${a.abandoned_today} of ${a.live_today} today, ${a.abandoned_30d} of ${a.live_30d} over 30 days (limit ${Math.round(a.limit * 100)}%)`);
  window.CallChart.draw($("c-chart"), $("c-chart-legend"), snapshot.timeline);
  show("c-edit", snapshot.state === "draft");
  $("c-edit").href = `#/campaigns/${snapshot.campaign}/edit`;
  const allowed = new Set(ACTIONS[snapshot.state] || []);
  for (const button of document.querySelectorAll("#campaign-view button[data-action]")) {
    button.hidden = !allowed.has(button.dataset.action);
  }
  text("c-live", FINAL.has(snapshot.state) ? "final" : `live, ${new Date(snapshot.at * 1000).toLocaleTimeString()}`);
}

// What the other pages' scripts use (they load after this one, deferred, in order).
window.Dashboard = { $, api, send, text, show, say, view, register, badge, act, route };

register(/^#\/campaigns\/(\d+)$/, (match) => showCampaign(Number(match[1])));

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", logIn);
  $("logout").addEventListener("click", logOut);
  $("filter-state").addEventListener("change", showList);
  $("filter-q").addEventListener("input", showList);
  window.addEventListener("hashchange", route);
  route();
});
