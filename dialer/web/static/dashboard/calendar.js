// The calendar (#/calendar, #/calendar/YYYY-MM): a month, Monday first, with every run of
// the scheduled and recurring campaigns on its day in the browser's time zone.
"use strict";

(() => {
  const D = window.Dashboard;
  const DAY_MS = 86400000;
  let asked = 0; // the latest month asked for: an older answer arriving late is dropped

  // Dates are UTC midnights here: plain calendar days, whatever the browser's zone.
  const iso = (day) => day.toISOString().slice(0, 10);
  const monthName = (day) => day.toLocaleDateString(undefined, { month: "long", year: "numeric", timeZone: "UTC" });

  function zone() {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  }

  async function showCalendar(match) {
    D.view("calendar-view");
    const today = new Date();
    const year = match[1] ? Number(match[1]) : today.getFullYear();
    const month = match[2] ? Number(match[2]) - 1 : today.getMonth();
    const first = new Date(Date.UTC(year, month, 1));
    const last = new Date(Date.UTC(year, month + 1, 0));
    const start = new Date(first.getTime() - ((first.getUTCDay() + 6) % 7) * DAY_MS); // its Monday
    const end = new Date(last.getTime() + ((7 - last.getUTCDay()) % 7) * DAY_MS); // its Sunday
    D.text("cal-month", monthName(first));
    D.text("cal-zone", zone());
    D.$("cal-prev").dataset.month = iso(new Date(Date.UTC(year, month - 1, 1))).slice(0, 7);
    D.$("cal-next").dataset.month = iso(new Date(Date.UTC(year, month + 1, 1))).slice(0, 7);
    const params = new URLSearchParams({ from: iso(start), to: iso(end), zone: zone() });
    const mine = ++asked;
    let found;
    try {
      found = await D.api("GET", `/api/calendar?${params}`);
    } catch (err) {
      if (mine === asked) D.say(err.message);
      return;
    }
    if (mine !== asked) return;
    D.say("");
    const byDay = new Map();
    for (const run of found.occurrences) {
      if (!byDay.has(run.date)) byDay.set(run.date, []);
      byDay.get(run.date).push(run);
    }
    const weeks = [];
    for (let day = start; day <= end; day = new Date(day.getTime() + 7 * DAY_MS)) {
      const tr = document.createElement("tr");
      for (let i = 0; i < 7; i += 1) {
        const cell = new Date(day.getTime() + i * DAY_MS);
        tr.append(dayCell(cell, cell.getUTCMonth() === month, byDay.get(iso(cell)) || []));
      }
      weeks.push(tr);
    }
    D.$("cal-grid").tBodies[0].replaceChildren(...weeks);
    document.body.dataset.calendar = iso(first).slice(0, 7);
  }

  function dayCell(day, inMonth, runs) {
    const td = document.createElement("td");
    td.dataset.date = iso(day);
    if (!inMonth) td.className = "other-month";
    const number = document.createElement("span");
    number.className = "day";
    number.textContent = String(day.getUTCDate());
    const list = document.createElement("ul");
    for (const run of runs) {
      const item = document.createElement("li");
      item.dataset.campaign = run.campaign;
      const link = document.createElement("a");
      link.href = `#/campaigns/${run.campaign}`;
      link.textContent = `${run.time} ${run.name}`; // never innerHTML: names are not markup
      link.title = `${run.local} ${run.zone} (${run.kind}, ${run.state})`;
      item.append(link);
      list.append(item);
    }
    td.append(number, list);
    return td;
  }

  function move(event) {
    location.hash = `#/calendar/${event.currentTarget.dataset.month}`;
  }

  D.$("cal-prev").addEventListener("click", move); // deferred: the page is parsed
  D.$("cal-next").addEventListener("click", move);
  D.register(/^#\/calendar(?:\/(\d{4})-(\d{2}))?$/, showCalendar);
})();
