// Comparative statistics (#/compare): tick campaigns, see their figures side by side.
"use strict";

(() => {
  const D = window.Dashboard;
  const MAX_COMPARED = 20; // as the API allows
  // [figure, label, its rate (shown beside the count), how the value reads]
  const ROWS = [
    ["leads", "Leads"],
    ["attempts", "Attempts"],
    ["attempts_per_lead", "Attempts per lead"],
    ["reached", "Reached (people)", "reached_rate"],
    ["voicemail", "Voicemail", "voicemail_rate"],
    ["no_answer", "No answer", "no_answer_rate"],
    ["busy", "Busy", "busy_rate"],
    ["failed", "Failed or rejected", "failed_rate"],
    ["success_rate", "Success rate", null, percent],
    ["abandonment", "Abandonment (30 days)", null, (a) => `${percent(a.rate_30d)} (${a.abandoned_30d} of ${a.live_30d})`],
    ["mean_answered_s", "Mean answered call", null, (s) => (s === null ? "-" : `${s} s`)],
  ];
  let asked = 0; // the latest comparison asked for: an older answer arriving late is dropped

  function percent(rate) { return `${Math.round(rate * 1000) / 10}%`; }

  async function showCompare() {
    D.view("compare-view");
    try {
      const listed = await D.api("GET", "/api/campaigns?sort=id&order=desc&limit=100");
      const ticked = new Set(chosen());
      D.$("cmp-list").replaceChildren(...listed.campaigns.map((c) => choice(c, ticked.has(c.campaign))));
      D.say("");
    } catch (err) {
      D.say(err.message);
    }
    compare();
  }

  function choice(campaign, ticked) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = String(campaign.campaign);
    box.checked = ticked;
    box.addEventListener("change", compare);
    label.append(box, ` ${campaign.name} `, D.badge(campaign.state)); // text, never markup
    return label;
  }

  function chosen() {
    return [...D.$("cmp-list").querySelectorAll("input:checked")].map((box) => Number(box.value));
  }

  async function compare() {
    const ids = chosen();
    const mine = ++asked;
    if (!ids.length) return render([]);
    if (ids.length > MAX_COMPARED) return D.say(`Compare at most ${MAX_COMPARED} campaigns at once.`);
    try {
      const stats = await D.api("GET", `/api/stats?campaigns=${ids.join(",")}`);
      if (mine !== asked) return;
      render(stats.campaigns);
      D.say("");
    } catch (err) {
      if (mine === asked) D.say(err.message);
    }
  }

  function render(campaigns) {
    const head = document.createElement("tr");
    head.append(document.createElement("th"));
    for (const campaign of campaigns) {
      const th = document.createElement("th");
      th.dataset.campaign = campaign.campaign;
      const link = document.createElement("a");
      link.href = `#/campaigns/${campaign.campaign}`;
      link.textContent = campaign.name;
      th.append(link);
      head.append(th);
    }
    const rows = ROWS.map(([figure, label, rate, shown]) => {
      const tr = document.createElement("tr");
      tr.dataset.figure = figure;
      const th = document.createElement("th");
      th.textContent = label;
      tr.append(th);
      for (const campaign of campaigns) {
        const td = document.createElement("td");
        td.dataset.campaign = campaign.campaign;
        const value = campaign[figure];
        td.textContent = shown ? shown(value) : rate ? `${value} (${percent(campaign[rate])})` : String(value);
        tr.append(td);
      }
      return tr;
    });
    D.$("cmp-table").tHead.replaceChildren(head);
    D.$("cmp-table").tBodies[0].replaceChildren(...rows);
    D.show("cmp-table", campaigns.length > 0);
    document.body.dataset.compared = campaigns.map((c) => c.campaign).join(",");
  }

  D.register(/^#\/compare$/, showCompare);
})();
