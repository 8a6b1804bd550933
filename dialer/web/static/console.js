// The agent console: one WebSocket to the dialer (JSON messages), one WebRTC connection
// for the audio, negotiated on every (re)connect. No inline script: the CSP forbids it.
// In desk-phone mode (body[data-mode=desk_phone]) there is no WebRTC: the agent's SIP
// phone rings and carries the audio, and this page shows its calls.
"use strict";

const $ = (id) => document.getElementById(id);
const DESK = document.body.dataset.mode === "desk_phone";
const RECONNECT_MAX_MS = 10000;
const ICE_GATHER_MS = 3000;

let ws = null;
let pc = null;
let mic = null;
let backoffMs = 500;
let stopped = false;
let currentCall = null; // call_sid ringing or on the line
let lastCall = null; // call_sid awaiting its disposition
let currentPreview = null; // preview_id shown, or chosen and being dialled

function show(id, visible) { $(id).hidden = !visible; }
function text(id, value) { $(id).textContent = value; }

function say(message) {
  text("error", message || "");
  show("error", Boolean(message));
}

function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify(message));
    return true;
  }
  say("Not connected: trying again shortly.");
  return false;
}

// -- connection --------------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(`${scheme}//${location.host}/agent/ws`);
  text("link", "connecting");
  ws.onopen = () => {
    backoffMs = 500;
    text("link", "connected");
    document.body.dataset.link = "open";
    if (!DESK) negotiate().catch((err) => say(`Audio: ${err}`));
  };
  ws.onmessage = (event) => onMessage(JSON.parse(event.data));
  ws.onclose = (event) => {
    document.body.dataset.link = "closed";
    text("link", "disconnected");
    if (stopped || event.code === 4001) {
      stopped = true;
      return;
    }
    setTimeout(reconnect, backoffMs);
    backoffMs = Math.min(backoffMs * 2, RECONNECT_MAX_MS);
  };
}

async function reconnect() {
  try {
    const answer = await fetch("/agent/session", { credentials: "same-origin" });
    if (answer.status === 401) {
      location.assign("/agent"); // the session is over: the login page
      return;
    }
  } catch (err) {
    // the server is unreachable: keep trying, the backoff grows
  }
  connect();
}

async function negotiate() {
  if (pc) pc.close();
  if (!mic) mic = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  const connection = new RTCPeerConnection({ iceServers: [] });
  pc = connection;
  for (const track of mic.getAudioTracks()) connection.addTrack(track, mic);
  connection.ontrack = (event) => { $("remote-audio").srcObject = event.streams[0] || new MediaStream([event.track]); };
  connection.onconnectionstatechange = () => {
    if (connection !== pc) return;
    text("media", connection.connectionState);
    document.body.dataset.media = connection.connectionState;
    if (connection.connectionState === "failed" && ws && ws.readyState === WebSocket.OPEN) {
      negotiate().catch((err) => say(`Audio: ${err}`)); // the dialer swaps in the new one
    }
  };
  await connection.setLocalDescription(await connection.createOffer());
  await gathered(connection);
  send({ type: "offer", sdp: connection.localDescription.sdp });
}

function gathered(connection) {
  // The server takes one complete offer (no trickle); a slow candidate is not waited for long.
  return new Promise((resolve) => {
    if (connection.iceGatheringState === "complete") return resolve();
    const timer = setTimeout(resolve, ICE_GATHER_MS);
    connection.addEventListener("icegatheringstatechange", () => {
      if (connection.iceGatheringState === "complete") {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

// -- messages from the dialer ------------------------------------------------------------

function onMessage(message) {
  switch (message.type) {
    case "hello":
      fillPauseReasons(message.pause_reasons);
      if (message.state) showState(message.state);
      if (message.desk_phone) deskPhone(message.desk_phone);
      requestStats();
      break;
    case "desk_phone":
      deskPhone(message);
      break;
    case "webrtc_answer":
      if (pc) pc.setRemoteDescription({ type: "answer", sdp: message.sdp }).catch((err) => say(`Audio: ${err}`));
      break;
    case "state":
      showState(message);
      break;
    case "ring":
      ring(message);
      break;
    case "history":
      if (message.call_sid === currentCall) showHistory("pop-history", message.attempts);
      if (message.call_sid === currentPreview) showHistory("preview-history", message.attempts);
      break;
    case "preview":
      preview(message);
      break;
    case "preview_over":
      previewOver(message);
      break;
    case "connected":
      if (message.call_sid !== currentCall) break;
      text("call-title", DESK ? "On call (desk phone)" : "On call");
      $("call-panel").classList.remove("ringing");
      show("answer", false);
      document.body.dataset.call = "connected";
      break;
    case "ended":
      ended(message);
      break;
    case "disposition_saved":
      text("disposition-result", message.goal_reached ? "Saved: goal reached." : "Saved.");
      document.body.dataset.disposition = "saved";
      show("disposition-form", false);
      lastCall = null;
      requestStats();
      break;
    case "stats":
      showStats(message);
      break;
    case "error":
      say(message.message);
      if (message.request === "disposition") document.body.dataset.disposition = "error";
      break;
    case "bye":
      stopped = true;
      say(`Disconnected: ${message.reason}.`);
      break;
    default:
      break;
  }
}

function showState(state) {
  text("state", state.state);
  text("state-reason", state.reason ? `(${state.reason})` : "");
  document.body.dataset.state = state.state;
}

function deskPhone(phone) {
  // Whether the SIP phone is registered: without it no call can ring, so no Ready.
  const registered = Boolean(phone.registered);
  text("desk-phone", registered ? "registered" : `not registered${phone.reason ? ` (${phone.reason})` : ""}`);
  $("ready").disabled = !registered;
  document.body.dataset.deskPhone = registered ? "registered" : "unregistered";
  say(registered ? "" : "Your desk phone is not registered, so no call can ring it. Sign it in (register it), then go ready.");
}

function fillPauseReasons(reasons) {
  const select = $("pause-reason");
  select.replaceChildren(...reasons.map((reason) => new Option(reason, reason)));
}

function preview(message) {
  currentPreview = message.preview_id;
  text("preview-name", message.name || "(no name)");
  text("preview-number", message.number);
  text("preview-campaign", String(message.campaign_id));
  const rows = Object.entries(message.contact || {}).map(([key, value]) => row([key, value]));
  $("preview-attributes").tBodies[0].replaceChildren(...rows);
  $("preview-history").tBodies[0].replaceChildren();
  const until = new Date(Date.now() + message.decide_within_s * 1000);
  text("preview-deadline", `choose by ${until.toLocaleTimeString()}`);
  $("preview-call").disabled = false;
  $("preview-skip").disabled = false;
  show("preview-result", false);
  show("preview-panel", true);
  document.body.dataset.preview = "shown";
}

function choosePreview(choice) {
  if (!currentPreview || !send({ type: `preview_${choice}`, preview_id: currentPreview })) return;
  $("preview-call").disabled = true;
  $("preview-skip").disabled = true;
  if (choice === "call") {
    text("preview-deadline", "dialling…");
    document.body.dataset.preview = "dialling";
  } else {
    show("preview-panel", false);
    currentPreview = null;
    document.body.dataset.preview = "skipped";
  }
}

function previewOver(message) {
  if (message.preview_id !== currentPreview) return;
  currentPreview = null;
  show("preview-panel", false);
  text("preview-result", `Last contact: ${message.outcome}`);
  show("preview-result", true);
  document.body.dataset.preview = "over";
}

function ring(message) {
  if (message.preview) show("preview-panel", false); // the contact chosen answered
  currentCall = message.call_sid;
  text("call-title", DESK ? "Ringing on your desk phone" : "Incoming call");
  text("pop-name", message.name || "(no name)");
  text("pop-number", message.number);
  text("pop-campaign", message.campaign_id === null ? "" : String(message.campaign_id));
  const rows = Object.entries(message.contact || {}).map(([key, value]) => row([key, value]));
  $("pop-attributes").tBodies[0].replaceChildren(...rows);
  $("pop-history").tBodies[0].replaceChildren();
  $("call-panel").classList.add("ringing");
  show("call-panel", true);
  show("answer", !DESK); // a desk phone is answered on the phone
  show("hangup", true);
  show("disposition-panel", false);
  document.body.dataset.call = "ringing";
  if (DESK) return;
  if (message.preview || $("auto-answer").checked) answer(); // a preview call is the agent's own
}

function answer() {
  if (currentCall) send({ type: "pick_up", call_sid: currentCall });
}

function ended(message) {
  if (message.call_sid !== currentCall) return;
  currentCall = null;
  show("call-panel", false);
  document.body.dataset.call = "ended";
  if (message.answered) {
    lastCall = message.call_sid;
    $("disposition-form").reset();
    text("disposition-result", "");
    show("disposition-form", true);
    show("disposition-panel", true);
    delete document.body.dataset.disposition;
  }
}

function showHistory(table, attempts) {
  const rows = attempts.map((a) => row([a.at, a.number, a.reason ? `${a.outcome}: ${a.reason}` : a.outcome, a.disposition]));
  $(table).tBodies[0].replaceChildren(...rows);
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const value of cells) {
    const td = document.createElement("td");
    td.textContent = value; // never innerHTML: contact data is not markup
    tr.append(td);
  }
  return tr;
}

function requestStats() { send({ type: "stats" }); }

function showStats(stats) {
  text("stat-calls", String(stats.calls));
  text("stat-talk", String(stats.talk_s));
  text("stat-dispositions", String(stats.dispositions));
  const rows = Object.entries(stats.seconds_in).filter(([, s]) => s > 0).map(([state, s]) => row([state, `${s} s`]));
  $("stat-states").tBodies[0].replaceChildren(...rows);
}

// -- the agent's controls ----------------------------------------------------------------

function toggleMute() {
  if (!mic) return;
  const muted = $("mute").getAttribute("aria-pressed") !== "true";
  for (const track of mic.getAudioTracks()) track.enabled = !muted;
  $("mute").setAttribute("aria-pressed", String(muted));
  text("mute", muted ? "Unmute" : "Mute");
  show("muted", muted);
}

function parseVariables(value) {
  const variables = {};
  for (const pair of value.split(",")) {
    const at = pair.indexOf("=");
    if (at > 0) variables[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return variables;
}

function submitDisposition(event) {
  event.preventDefault();
  if (!lastCall) return;
  send({
    type: "disposition",
    call_sid: lastCall,
    disposition: $("disposition").value,
    notes: $("notes").value,
    variables: parseVariables($("variables").value),
  });
  text("disposition-result", "Saving…");
}

async function pollStats() {
  if (!pc || DESK) return;
  try {
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") {
        text("rtp-in", String(s.packetsReceived || 0));
        text("audio-energy", String(s.totalAudioEnergy || 0));
      }
    });
  } catch (err) {
    // a connection being replaced: the next poll reads the new one
  }
}

function deskPhoneMode() {
  // The phone has the audio and its own mute and answer keys.
  show("desk-phone-panel", true);
  show("auto-answer-label", false);
  show("mute", false);
  show("media-panel", false);
  text("media", "on the desk phone");
}

document.addEventListener("DOMContentLoaded", () => {
  if (DESK) deskPhoneMode();
  $("ready").addEventListener("click", () => { say(""); send({ type: "ready" }); });
  $("pause").addEventListener("click", () => { say(""); send({ type: "pause", reason: $("pause-reason").value }); });
  $("answer").addEventListener("click", answer);
  $("preview-call").addEventListener("click", () => choosePreview("call"));
  $("preview-skip").addEventListener("click", () => choosePreview("skip"));
  $("hangup").addEventListener("click", () => { if (currentCall) send({ type: "hangup", call_sid: currentCall }); });
  $("mute").addEventListener("click", toggleMute);
  $("disposition-form").addEventListener("submit", submitDisposition);
  $("stats-refresh").addEventListener("click", requestStats);
  setInterval(pollStats, 500);
  connect();
});
