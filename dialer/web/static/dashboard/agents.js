// The agents (#/agents): the wallboard, every agent's state now (refreshed every REFRESH_MS,
// the time in state counting each second between two) and today's figures; below it the
// activity report over chosen days, and its CSV.
"use strict";

(() => {
  const D = window.Dashboard;
  const REFRESH_MS = 2000;
  const TICK_MS = 1000;
  const DAY_MS = 86400000;
  let shown = 0; // which showing of the page the refresh loop belongs to
  let timer = null;
  let ticker = null;
  let asked = 0; // the latest report asked for: an older answer arriving late is dropped

  function stop() {
    shown += 1;
    if (timer !== null) clearTimeout(timer);
    if (ticker !== null) clearInterval(ticker);
    timer = null;
    ticker = null;
  }

  // A calendar day in the browser's zone, as the date inputs want it.
  function localDay(date) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  }

  function showAgents() {
    D.view("agents-view");
    stop();
    const mine = shown;
    if (!D.$("ag-from").value) {
      const today = new Date();
      D.$("ag-from").value = localDay(new Date(today.getTime() - 6 * DAY_MS));
      D.$("ag-to").value = localDay(today);
      D.$("ag-zone").value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    }
    csvLink();
    refresh(mine);
    ticker = setInterval(tick, TICK_MS);
    report();
  }

  // -- the wallboard ---------------------------------------------------------------------

  async function refresh(mine) {
    try {
      const board = await D.api("GET", "/api/agents/live");
      if (mine !== shown) return; // left (or shown again) while it was asked for
      wallboard(board);
    } catch (err) {
      if (mine === shown) D.say(err.message);
    }
    if (mine === shown) timer = setTimeout(() => refresh(mine), REFRESH_MS);
  }

  function wallboard(board) {
    const received = performance.now();
    const counts = Object.entries(board.by_state).map(([state, n]) => {
      const badge = D.badge(state);
      badge.textContent = `${state.replace("_", " ")} ${n}`;
      badge.dataset.count = String(n);
      return badge;
    });
    D.$("ag-states").replaceChildren(...counts);
    D.$("ag-board").tBodies[0].replaceChildren(...board.agents.map((agent) => agentRow(agent, received)));
    D.show("ag-none", board.agents.length === 0);
    D.text("ag-at", `at ${new Date(board.at * 1000).toLocaleTimeString()}`);
    document.body.dataset.agentsAt = String(board.at);
  }

  function agentRow(agent, received) {
    const t = agent.today;
    const tr = document.createElement("tr");
    tr.dataset.agent = agent.id;
    tr.dataset.state = agent.state;
    const state = D.badge(agent.state);
    state.textContent = agent.state.replace("_", " ");
    const status = document.createElement("span");
    status.append(state);
    if (agent.reason) status.append(` ${agent.reason}`);
    const inState = cell("-");
    inState.className = "in-state";
    if (agent.in_state_s !== null) {
      inState.dataset.base = String(agent.in_state_s);
      inState.dataset.received = String(received);
      inState.textContent = duration(agent.in_state_s);
    }
    tr.append(cell(agent.name), cell(agent.extension), cell(status), inState,
      cell(String(t.calls)), cell(duration(t.talk_s)), cell(duration(t.ready_s)),
      cell(duration(t.wrap_up_s)), cell(duration(t.paused_s)), cell(percent(t.occupancy)));
    return tr;
  }

  // Between two refreshes each time in state counts on from what the server said.
  function tick() {
    const now = performance.now();
    for (const td of document.querySelectorAll("#ag-board td.in-state[data-base]")) {
      const elapsed = (now - Number(td.dataset.received)) / 1000;
      td.textContent = duration(Number(td.dataset.base) + elapsed);
    }
  }

  // -- the report ------------------------------------------------------------------------

  function period() {
    return new URLSearchParams({ from: D.$("ag-from").value, to: D.$("ag-to").value, zone: D.$("ag-zone").value.trim() || "UTC" });
  }

  function csvLink() { D.$("ag-csv").href = `/api/agents/report.csv?${period()}`; }

  async function report(event) {
    if (event) event.preventDefault();
    csvLink();
    const params = period();
    const mine = ++asked;
    let found;
    try {
      found = await D.api("GET", `/api/agents/report?${params}`);
    } catch (err) {
      if (mine === asked) D.say(err.message);
      return;
    }
    if (mine !== asked) return;
    D.say("");
    D.$("ag-report").tBodies[0].replaceChildren(...found.agents.map((row) => reportRow(row, row.name, { agent: row.id })));
    D.$("ag-report").tFoot.replaceChildren(reportRow(found.totals, "All agents", { total: "" }));
    D.text("ag-period", `${found.from} to ${found.to} (${found.zone})`);
    document.body.dataset.report = `${found.from}/${found.to}`;
  }

  function reportRow(figures, name, data) {
    const tr = document.createElement("tr");
    Object.assign(tr.dataset, data);
    const paused = document.createElement("span");
    paused.append(duration(figures.paused_s));
    for (const [reason, s] of Object.entries(figures.paused_by_reason)) {
      const part = document.createElement("span");
      part.className = "reason muted";
      part.dataset.reason = reason;
      part.textContent = `${reason || "no reason"} ${duration(s)}`;
      paused.append(part);
    }
    const removed = data.agent !== undefined && figures.removed_at ? " (removed)" : "";
    tr.append(cell(`${name}${removed}`), cell(duration(figures.logged_in_s)),
      cell(duration(figures.ready_s)), cell(duration(figures.reserved_s)),
      cell(duration(figures.on_call_s)), cell(duration(figures.wrap_up_s)),
      cell(paused),
      cell(String(figures.calls)), cell(String(figures.dispositions)),
      cell(figures.mean_talk_s === null ? "-" : duration(figures.mean_talk_s)),
      cell(percent(figures.occupancy)),
      cell(figures.contacts_per_hour === null ? "-" : String(figures.contacts_per_hour)));
    return tr;
  }

  // -- cells -----------------------------------------------------------------------------

  function cell(content) {
    const td = document.createElement("td");
    td.append(content); // text or a node: never innerHTML, names are not markup
    return td;
  }

  // Seconds as h:mm:ss (m:ss under an hour).
  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
  }

  function percent(rate) { return rate === null ? "-" : `${Math.round(rate * 1000) / 10}%`; }

  D.$("ag-report-form").addEventListener("submit", report); // deferred: the page is parsed
  for (const id of ["ag-from", "ag-to", "ag-zone"]) D.$(id).addEventListener("input", csvLink);
  window.addEventListener("dashboard:view", (event) => { if (event.detail !== "agents-view") stop(); });
  D.register(/^#\/agents$/, showAgents);
})();
