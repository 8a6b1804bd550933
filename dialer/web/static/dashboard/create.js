// The new-campaign form (#/new, and #/campaigns/{id}/edit for a draft). The draft is made
// on the first save or upload, so the contacts have a campaign to go to; every later save
// edits it. A message read out becomes a one-document flow in the library, named after the
// campaign. Launch saves, then starts it, and shows its live page.
"use strict";

(() => {
  const { $, api, send, text, show, say, view, register } = window.Dashboard;
  const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  const RETRY = ["no_answer", "busy", "failed", "voicemail"];
  let draft = null; // the campaign's id, once made
  let total = 0; // its contacts

  register(/^#\/new$/, () => open(null));
  register(/^#\/campaigns\/(\d+)\/edit$/, (match) => open(Number(match[1])));

  const value = (id) => $(id).value.trim();
  const number = (id) => (value(id) === "" ? null : Number(value(id)));
  const message = () => document.querySelector("input[name=n-message]:checked").value;

  async function open(id) {
    view("create-view");
    say("");
    if (id === null || id !== draft) reset();
    await Promise.all([fillLibrary(), fillTrunks()]);
    if (id !== null) {
      draft = id;
      const campaign = await api("GET", `/api/campaigns/${id}`);
      if (campaign.state !== "draft") { location.hash = `#/campaigns/${id}`; return; }
      fill(campaign);
      review(campaign);
    }
  }

  function reset() {
    draft = null;
    total = 0;
    $("new-form").reset();
    text("n-draft", "");
    show("n-report", false);
    $("n-review").replaceChildren();
    $("n-launch").disabled = true;
    parts();
  }

  // -- the choices the server knows ---------------------------------------------------------

  async function fillLibrary() {
    const [flows, prompts] = await Promise.all([api("GET", "/api/flows"), api("GET", "/api/prompts")]);
    options("n-flow", flows.flows.map((f) => [f.path, `${f.name} (${f.placeholders.join(", ") || "no fields"})`]));
    options("n-prompt", prompts.prompts.map((p) => [p.path, `${p.name} (${p.duration_s.toFixed(1)} s)`]));
  }

  async function fillTrunks() {
    try {
      const health = await api("GET", "/api/system/health");
      options("n-trunk", health.trunks.map((t) => [t.name, t.name]));
    } catch (err) { /* the default trunk stays the one choice */ }
  }

  function options(id, pairs) {
    const select = $(id);
    const kept = select.value;
    select.replaceChildren(...pairs.map(([key, label]) => {
      const option = document.createElement("option");
      option.value = key;
      option.textContent = label; // names are not markup
      return option;
    }));
    if (pairs.some(([key]) => key === kept)) select.value = kept;
  }

  function parts() {
    for (const kind of ["say", "flow", "prompt"]) show(`n-${kind}-part`, message() === kind);
    show("n-window-part", $("n-window").checked);
    show("n-at-part", $("n-schedule").value === "at");
    $("n-hours").disabled = $("n-any-hour").checked;
  }

  // -- the form and the settings ----------------------------------------------------------

  function settings(flowPath) {
    const at = $("n-schedule").value === "at";
    const onMachine = $("n-on-machine").value;
    const chosen = { say: flowPath, flow: value("n-flow") || null, prompt: null }[message()];
    return {
      trunk: $("n-trunk").value || "default",
      flow: chosen,
      prompt_file: message() === "prompt" ? value("n-prompt") || null : null,
      mode: $("n-mode").value,
      max_concurrent: number("n-max-concurrent") ?? 10,
      ring_timeout_s: number("n-ring-timeout"),
      max_duration_s: number("n-max-duration"),
      recipient_hours: $("n-any-hour").checked ? null : value("n-hours"),
      window: $("n-window").checked ? {
        days: DAYS.filter((day) => $(`n-day-${day}`).checked),
        start: value("n-window-start"), end: value("n-window-end"), zone: value("n-window-zone"),
      } : null,
      schedule: at ? { kind: "at", at: value("n-at"), zone: value("n-at-zone") } : { kind: "now" },
      retry: {
        max_attempts: number("n-max-attempts") ?? 1,
        delay_s: (number("n-retry-minutes") ?? 0) * 60,
        outcomes: RETRY.filter((outcome) => $(`n-retry-${outcome}`).checked),
      },
      amd: {
        enabled: $("n-amd").checked,
        on_machine: $("n-amd").checked ? onMachine : "hangup",
        message_flow: $("n-amd").checked && onMachine === "message" ? chosen : null,
      },
    };
  }

  function fill(campaign) {
    const s = campaign.settings;
    $("n-name").value = campaign.name;
    $("n-description").value = campaign.description;
    $("n-tags").value = campaign.tags.join(", ");
    text("n-draft", `draft ${campaign.campaign}`);
    const said = s.flow && s.flow.includes(`/flows/campaign-${campaign.campaign}/`);
    const kind = said ? "say" : s.flow ? "flow" : s.prompt_file ? "prompt" : "say";
    document.querySelector(`input[name=n-message][value=${kind}]`).checked = true;
    if (kind === "flow") $("n-flow").value = s.flow;
    if (kind === "prompt") $("n-prompt").value = s.prompt_file;
    if (said) loadSaid(campaign.campaign);
    $("n-trunk").value = s.trunk;
    $("n-mode").value = s.mode;
    $("n-max-concurrent").value = s.max_concurrent;
    $("n-ring-timeout").value = s.ring_timeout_s ?? "";
    $("n-max-duration").value = s.max_duration_s ?? "";
    $("n-any-hour").checked = s.recipient_hours === null;
    if (s.recipient_hours) $("n-hours").value = s.recipient_hours;
    $("n-window").checked = s.window !== null;
    if (s.window) {
      for (const day of DAYS) $(`n-day-${day}`).checked = s.window.days.includes(day);
      $("n-window-start").value = s.window.start;
      $("n-window-end").value = s.window.end;
      $("n-window-zone").value = s.window.zone;
    }
    $("n-schedule").value = s.schedule.kind === "at" ? "at" : "now";
    if (s.schedule.kind === "at") {
      $("n-at").value = s.schedule.at.slice(0, 16);
      $("n-at-zone").value = s.schedule.zone;
    }
    $("n-max-attempts").value = s.retry.max_attempts;
    $("n-retry-minutes").value = s.retry.delay_s / 60;
    for (const outcome of RETRY) $(`n-retry-${outcome}`).checked = s.retry.outcomes.includes(outcome);
    $("n-amd").checked = s.amd.enabled;
    $("n-on-machine").value = s.amd.on_machine;
    parts();
  }

  async function loadSaid(id) {
    try {
      const flow = await api("GET", `/api/flows/campaign-${id}`);
      const said = new DOMParser().parseFromString(flow.documents["main.xml"], "application/xml");
      const speech = said.querySelector("Say");
      if (speech) {
        $("n-say").value = speech.textContent;
        $("n-voice").value = speech.getAttribute("voice") || "";
      }
    } catch (err) { /* the text field keeps what it has */ }
  }

  // The message as a flow: built as XML by the DOM, so the text is escaped, never markup.
  function saidFlow() {
    const flow = document.implementation.createDocument(null, "Response");
    const speech = flow.createElement("Say");
    if (value("n-voice")) speech.setAttribute("voice", value("n-voice"));
    speech.textContent = $("n-say").value;
    flow.documentElement.append(speech);
    return new XMLSerializer().serializeToString(flow);
  }

  // -- saving, uploading, launching -------------------------------------------------------

  async function save() {
    if (!$("n-name").reportValidity()) throw new Error("the campaign needs a name");
    const labels = { name: value("n-name"), description: value("n-description"),
      tags: value("n-tags").split(",").map((t) => t.trim()).filter(Boolean) };
    if (draft === null) {
      draft = (await api("POST", "/api/campaigns", labels)).campaign;
      history.replaceState(null, "", `#/campaigns/${draft}/edit`); // no new route: the form stays
      text("n-draft", `draft ${draft}`);
    }
    let flowPath = null;
    if (message() === "say") {
      const files = new FormData();
      files.append("file", new Blob([saidFlow()], { type: "application/xml" }), "main.xml");
      flowPath = (await api("PUT", `/api/flows/campaign-${draft}`, files)).path;
    }
    const saved = await api("PATCH", `/api/campaigns/${draft}`, { ...labels, settings: settings(flowPath) });
    review(await api("GET", `/api/campaigns/${saved.campaign}`));
    return saved;
  }

  function review(campaign) {
    const s = campaign.settings;
    total = campaign.progress.total;
    const said = message() === "say" ? `"${$("n-say").value}"` : null;
    const rows = [
      ["Contacts", String(total)],
      ["They hear", said || s.flow || s.prompt_file || "nothing chosen"],
      ["Recipients' hours", s.recipient_hours || "any hour"],
      ["Window", s.window ? `${s.window.days.join(" ")} ${s.window.start}-${s.window.end} ${s.window.zone}` : "none"],
      ["Starts", s.schedule.kind === "at" ? `${s.schedule.at} ${s.schedule.zone}` : "when launched"],
      ["Attempts", `${s.retry.max_attempts}, ${s.retry.delay_s / 60} min apart, after ${s.retry.outcomes.join(", ") || "nothing"}`],
      ["Mode", `${s.mode}, ${s.max_concurrent} at once on ${s.trunk}`],
      ["Machines", s.amd.enabled ? s.amd.on_machine.replace("_", " ") : "not detected"],
    ];
    $("n-review").replaceChildren(...rows.flatMap(([term, detail]) => {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = term;
      dd.textContent = detail;
      dd.dataset.review = term;
      return [dt, dd];
    }));
    $("n-launch").disabled = total === 0;
    $("n-launch").title = total === 0 ? "upload contacts first" : "";
  }

  async function uploadContacts() {
    const file = $("n-csv").files[0];
    if (!file) throw new Error("choose a CSV file first");
    await save();
    const form = new FormData();
    form.append("file", file, file.name);
    const region = value("n-region") ? `?region=${encodeURIComponent(value("n-region"))}` : "";
    const report = await api("POST", `/api/campaigns/${draft}/contacts${region}`, form);
    text("n-report-summary", `${report.imported} of ${report.total_rows} rows imported` +
      `, ${report.merged_duplicates} duplicates merged, ${report.errors.length} refused` +
      ` (${report.new_leads} new contacts)`);
    $("n-report-errors").tBodies[0].replaceChildren(...report.errors.map((error) => {
      const tr = document.createElement("tr");
      for (const cell of [String(error.line), error.reason]) {
        const td = document.createElement("td");
        td.textContent = cell;
        tr.append(td);
      }
      return tr;
    }));
    show("n-report-errors", report.errors.length > 0);
    show("n-report", true);
    review(await api("GET", `/api/campaigns/${draft}`));
  }

  async function uploadLibrary(kind) {
    const name = value(`n-${kind}-name`);
    const input = $(kind === "flow" ? "n-flow-files" : "n-prompt-file");
    if (!name || !$(`n-${kind}-name`).checkValidity()) throw new Error(`name the ${kind}: letters, digits, - and _`);
    if (!input.files.length) throw new Error(`choose the ${kind}'s file first`);
    const form = new FormData();
    for (const file of input.files) form.append("file", file, file.name);
    const saved = await api("PUT", `/api/${kind}s/${name}`, form);
    await fillLibrary();
    $(kind === "flow" ? "n-flow" : "n-prompt").value = saved.path;
  }

  async function preview() {
    const body = { text: $("n-say").value };
    if (value("n-voice")) body.voice = value("n-voice");
    if (draft !== null && total > 0) {
      const first = await api("GET", `/api/campaigns/${draft}/leads?limit=1`);
      if (first.leads.length) body.lead_id = first.leads[0].id; // as the first contact hears it
    }
    const wav = await (await send("POST", "/api/tts/preview", body)).blob();
    const audio = $("n-audio");
    if (audio.src) URL.revokeObjectURL(audio.src);
    audio.src = URL.createObjectURL(wav);
    show("n-audio", true);
    audio.dataset.bytes = String(wav.size);
  }

  async function launch() {
    await save();
    await api("POST", `/api/campaigns/${draft}/start`);
    const id = draft;
    draft = null;
    location.hash = `#/campaigns/${id}`;
  }

  // Each button's work, its failure said in the page's one error line.
  function button(id, work) {
    $(id).addEventListener("click", async () => {
      $(id).disabled = true;
      try {
        await work();
        say("");
      } catch (err) {
        say(err.message);
      } finally {
        $(id).disabled = id === "n-launch" ? total === 0 : false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("n-days").replaceChildren(...DAYS.map((day) => {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.id = `n-day-${day}`;
      box.defaultChecked = !["Sat", "Sun"].includes(day); // what the form's reset restores
      label.append(box, ` ${day}`);
      return label;
    }));
    $("new-form").addEventListener("submit", (event) => event.preventDefault()); // Enter in a field
    for (const id of ["n-window", "n-schedule", "n-any-hour"]) $(id).addEventListener("change", parts);
    for (const radio of document.querySelectorAll("input[name=n-message]")) radio.addEventListener("change", parts);
    button("n-save", save);
    button("n-upload", uploadContacts);
    button("n-flow-upload", () => uploadLibrary("flow"));
    button("n-prompt-upload", () => uploadLibrary("prompt"));
    button("n-preview", preview);
    button("n-launch", launch);
  });
})();
