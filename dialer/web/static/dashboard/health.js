// The system's health (#/health), refreshed every REFRESH_MS while it is shown; for
// admins, the running configuration below it, every secret redacted by the server.
"use strict";

(() => {
  const D = window.Dashboard;
  const REFRESH_MS = 2000;
  let shown = 0; // which showing of the page the refresh loop belongs to
  let timer = null;

  function stop() {
    shown += 1;
    if (timer !== null) clearTimeout(timer);
    timer = null;
  }

  async function showHealth() {
    D.view("health-view");
    stop();
    const mine = shown;
    refresh(mine);
    showSettings(mine);
  }

  async function refresh(mine) {
    try {
      const health = await D.api("GET", "/api/system/health");
      if (mine !== shown) return; // left (or shown again) while it was asked for
      figures(health);
    } catch (err) {
      if (mine === shown) D.say(err.message);
    }
    if (mine === shown) timer = setTimeout(() => refresh(mine), REFRESH_MS);
  }

  function figures(health) {
    const campaigns = health.campaigns;
    for (const state of ["running", "paused", "scheduled"]) D.text(`h-${state}`, String(campaigns[state]));
    D.text("h-calls", String(health.calls_in_progress));
    const errors = health.sip_errors;
    D.text("h-errors", `${percent(errors.rate)} (${errors.errors} of ${errors.ended} calls, last ${errors.window_s / 60} min)`);
    D.text("h-due", String(health.queue.due_leads));
    D.text("h-webhooks", String(health.queue.webhooks_pending));
    const lag = health.event_loop.mean_lag_ms;
    D.text("h-lag", lag === null ? "-" : `${lag} ms (mean)`);
    D.$("h-trunks").tBodies[0].replaceChildren(...health.trunks.map(trunkRow));
    D.$("h-agents").tBodies[0].replaceChildren(
      ...Object.entries(health.agents).map(([state, n]) => row({ agent: state }, [state.replace("_", " "), String(n)])),
    );
    D.text("h-at", `at ${new Date(health.at).toLocaleTimeString()}`);
    document.body.dataset.healthAt = health.at;
  }

  function trunkRow(trunk) {
    let status = "no answer yet";
    if (trunk.answered) status = "answered";
    else if (!trunk.keepalive_s) status = "not probed (keepalive_s = 0)";
    const rtt = trunk.options_rtt_ms === null ? "-" : `${trunk.options_rtt_ms} ms`;
    return row({ trunk: trunk.name }, [trunk.name, rtt, status]);
  }

  async function showSettings(mine) {
    D.show("h-admin", false);
    try {
      const session = await D.api("GET", "/api/session");
      if (session.user.role !== "admin") return; // managers: the settings are the admins'
      const settings = await D.api("GET", "/api/system/settings");
      if (mine !== shown) return;
      const rows = flatten(settings.config, "").map(([key, value]) => row({ key }, [key, value]));
      D.$("h-settings").tBodies[0].replaceChildren(...rows);
      D.show("h-admin", true);
    } catch (err) {
      if (mine === shown) D.say(err.message);
    }
  }

  // The configuration as dotted keys and their values, as config.toml names them.
  function flatten(value, prefix) {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      return Object.entries(value).flatMap(([key, item]) => flatten(item, prefix ? `${prefix}.${key}` : key));
    }
    return [[prefix, JSON.stringify(value)]];
  }

  function row(data, cells) {
    const tr = document.createElement("tr");
    Object.assign(tr.dataset, data);
    for (const cell of cells) {
      const td = document.createElement("td");
      td.textContent = cell; // never innerHTML: names are not markup
      tr.append(td);
    }
    return tr;
  }

  function percent(rate) { return `${Math.round(rate * 1000) / 10}%`; }

  window.addEventListener("dashboard:view", (event) => { if (event.detail !== "health-view") stop(); });
  D.register(/^#\/health$/, showHealth);
})();
