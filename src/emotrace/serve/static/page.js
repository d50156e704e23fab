"use strict";
// Sends the conversation to /v1/analyze and shows the timeline the server renders (the same one as
// `emotrace analyze --report`); this script only adds clicks and downloads. A recording without a conversation goes
// to /v1/jobs instead, whose progress is polled until the same result arrives. Live mode sends one turn at a time over
// the WebSocket /v1/live and shows the chart the server renders after each.

const $ = (id) => document.getElementById(id);
const FORMATS = { txt: "transcript", jsonl: "jsonl", srt: "srt", vtt: "vtt", csv: "csv" };
let last = null;  // what was analysed: the request and its recording, for the CSV download

function analysisRequest() {
  const request = { text: $("text").value, format: $("format").value, html: true, options: { explain: $("explain").checked } };
  if ($("abstain").value !== "") request.options.abstain_below = Number($("abstain").value);
  const recording = $("media").files[0];
  if (recording) request.media = { [mediaKind(recording)]: recording.name };
  return request;
}

function mediaKind(file) {
  if (file.type.startsWith("video/")) return "video";
  return file.type.startsWith("image/") ? "image" : "audio";
}

function authorization() {
  const key = $("key").value.trim();
  return key ? { Authorization: "Bearer " + key } : {};
}

async function checked(response) {
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error; } catch (_) { /* not JSON: keep the status text */ }
    throw new Error(`${response.status}: ${message}`);
  }
  return response;
}

async function post({ request, recording }, format) {
  const headers = authorization();
  let body;
  if (recording) {
    body = new FormData();
    body.append("request", JSON.stringify(request));
    body.append("files", recording, recording.name);
  } else {
    body = JSON.stringify(request);
    headers["Content-Type"] = "application/json";
  }
  return checked(await fetch("/v1/analyze" + (format ? "?format=" + format : ""), { method: "POST", body, headers }));
}

// A recording alone: queue it as a job, then poll its progress until the result (the JSON of /v1/analyze) arrives.
async function runJob(recording) {
  const body = new FormData();
  body.append("recording", recording, recording.name);
  body.append("options", JSON.stringify(analysisRequest().options));
  body.append("html", "true");
  const job = await (await checked(await fetch("/v1/jobs", { method: "POST", body, headers: authorization() }))).json();
  for (;;) {
    const record = await (await checked(await fetch(job.url, { headers: authorization() }))).json();
    if (record.status === "done") return record.result;
    if (record.status === "failed") throw new Error(record.error);
    const { stage, done, total } = record.progress;
    const ahead = record.ahead ? ` (${record.ahead} ahead)` : "";
    status(`${record.recording}: ${stage}${total ? ` ${done}/${total}` : ""}${ahead}…`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function show(result) {
  $("result").innerHTML = result.html;  // rendered and escaped by the server
  for (const turn of $("result").querySelectorAll(".turn")) {
    turn.tabIndex = 0;
    turn.setAttribute("role", "button");
    turn.setAttribute("aria-expanded", "false");
  }
  const link = $("download-json");
  if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([JSON.stringify(result.conversations, null, 2)], { type: "application/json" }));
  $("downloads").hidden = false;
}

function toggle(turn) {
  const open = turn.classList.toggle("open");
  turn.setAttribute("aria-expanded", String(open));
}

function status(message, isError) {
  $("status").textContent = message;
  $("status").classList.toggle("error", Boolean(isError));
}

$("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const recordingAlone = !$("text").value.trim() && $("media").files[0];
  if (!$("text").value.trim() && !recordingAlone) return status("Paste or upload a conversation, or choose a recording, first.", true);
  last = recordingAlone ? null : { request: analysisRequest(), recording: $("media").files[0] };
  $("analyze").disabled = true;
  status("Analysing…");
  try {
    const result = recordingAlone ? await runJob(recordingAlone) : await (await post(last)).json();
    show(result);
    $("download-csv").hidden = Boolean(recordingAlone);  // a job's result is JSON; its CSV would mean analysing again
    const count = result.conversations.reduce((total, c) => total + c.utterances.length, 0);
    status(`${count} utterances analysed.`);
  } catch (error) {
    status(error.message, true);
  } finally {
    $("analyze").disabled = false;
  }
});

$("download-csv").addEventListener("click", async () => {
  try {
    const csv = await (await post(last, "csv")).blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(csv);
    link.download = "emotrace.csv";
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  } catch (error) {
    status(error.message, true);
  }
});

$("file").addEventListener("change", async () => {
  const file = $("file").files[0];
  if (!file) return;
  $("text").value = await file.text();
  const format = FORMATS[file.name.split(".").pop().toLowerCase()];
  if (format) $("format").value = format;
});

$("result").addEventListener("click", (event) => {
  const turn = event.target.closest(".turn");
  if (turn) toggle(turn);
});

$("result").addEventListener("keydown", (event) => {
  const turn = event.target.closest(".turn");
  if (turn && (event.key === "Enter" || event.key === " ")) {
    event.preventDefault();
    toggle(turn);
  }
});

// --- modes -----------------------------------------------------------------------------------------------------------

function showMode(live) {
  $("mode-analyze").setAttribute("aria-selected", String(!live));
  $("mode-live").setAttribute("aria-selected", String(live));
  $("form").hidden = live;
  $("result").hidden = live;
  $("downloads").hidden = live || !$("download-json").href.startsWith("blob:");
  $("live").hidden = !live;
  if (live) $("live-text").focus();
}

$("mode-analyze").addEventListener("click", () => showMode(false));
$("mode-live").addEventListener("click", () => showMode(true));

// --- live ------------------------------------------------------------------------------------------------------------

let stream = null;  // the open /v1/live WebSocket: one conversation
let unsent = [];  // turns typed while it connects

function liveStatus(message, isError) {
  $("live-status").textContent = message;
  $("live-status").classList.toggle("error", Boolean(isError));
}

function openStream() {
  const url = new URL("/v1/live", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("chart", "1");
  if ($("abstain").value !== "") url.searchParams.set("abstain_below", $("abstain").value);
  const opened = new WebSocket(url);
  opened.addEventListener("open", () => {
    const key = $("key").value.trim();
    if (key) opened.send(JSON.stringify({ api_key: key }));  // browsers cannot set headers on a WebSocket
    for (const turn of unsent) opened.send(turn);
    unsent = [];
  });
  opened.addEventListener("message", (event) => showTurn(JSON.parse(event.data)));
  opened.addEventListener("close", () => {
    if (stream === opened) stream = null;
  });
  opened.addEventListener("error", () => liveStatus("The live connection failed.", true));
  return opened;
}

function showTurn(message) {
  if (message.error) return liveStatus(message.error, true);
  if (message.ready) return liveStatus(`Live: each turn labelled from up to ${message.ready.window} turns so far.`);
  $("live-chart").innerHTML = message.chart;  // rendered and escaped by the server
  const item = document.createElement("li");
  item.style.setProperty("--emotion", message.colour);
  const label = document.createElement("span");
  label.className = "label";
  label.textContent = `${message.utterance.emotion} ${message.utterance.confidence.toFixed(2)}`;
  item.append(`${message.utterance.speaker}: ${message.utterance.text} — `, label);
  $("live-turns").append(item);
  $("live-summary").replaceChildren(...message.summary.map((line) => Object.assign(document.createElement("li"), { textContent: line })));
  liveStatus(`${message.turn} turns.`);
}

$("live-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("live-text").value.trim();
  if (!text) return liveStatus("Type what was said first.", true);
  const turn = JSON.stringify({ speaker: $("live-speaker").value.trim() || "Speaker", text });
  if (!stream) stream = openStream();
  if (stream.readyState === WebSocket.OPEN) stream.send(turn);
  else unsent.push(turn);
  $("live-text").value = "";
});

$("live-reset").addEventListener("click", () => {
  if (stream) stream.close();
  stream = null;
  unsent = [];
  $("live-chart").replaceChildren();
  $("live-summary").replaceChildren();
  $("live-turns").replaceChildren();
  liveStatus("");
});
