"use strict";
// Sends the conversation to /v1/analyze and shows the timeline the server renders (the same one as
// `emotrace analyze --report`); this script only adds clicks and downloads.

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

async function post({ request, recording }, format) {
  const headers = {};
  const key = $("key").value.trim();
  if (key) headers.Authorization = "Bearer " + key;
  let body;
  if (recording) {
    body = new FormData();
    body.append("request", JSON.stringify(request));
    body.append("files", recording, recording.name);
  } else {
    body = JSON.stringify(request);
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch("/v1/analyze" + (format ? "?format=" + format : ""), { method: "POST", body, headers });
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error; } catch (_) { /* not JSON: keep the status text */ }
    throw new Error(`${response.status}: ${message}`);
  }
  return response;
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
  if (!$("text").value.trim()) return status("Paste or upload a conversation first.", true);
  last = { request: analysisRequest(), recording: $("media").files[0] };
  $("analyze").disabled = true;
  status("Analysing…");
  try {
    const result = await (await post(last)).json();
    show(result);
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
