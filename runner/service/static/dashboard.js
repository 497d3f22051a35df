// The dashboard: plain JS over the JSON API, no build step.
// Mutating calls send the service token (from #token=… once, then kept in this browser).
"use strict";

const state = { run: null, job: null, pipeline: null, source: null };
const $ = (id) => document.getElementById(id);

function token() {
  const fromUrl = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromUrl) { localStorage.setItem("dockstep-token", fromUrl); history.replaceState(null, "", location.pathname); }
  return localStorage.getItem("dockstep-token") || "";
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value); else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function seconds(value) { return value == null ? "" : value.toFixed(1) + " s"; }

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(path + ": " + response.status);
  return response.json();
}

async function post(path) {
  const response = await fetch(path, { method: "POST", headers: { Authorization: "Bearer " + token() } });
  const body = await response.json().catch(() => ({}));
  $("message").textContent = response.ok ? "" : (body.error || "failed: " + response.status);
  if (response.status === 401) askToken();
  return body;
}

function askToken() {
  const given = prompt("The service token (its state folder: service/token)");
  if (given) localStorage.setItem("dockstep-token", given.trim());
}

async function refreshRuns() {
  const runs = await getJson("/api/runs?limit=50");
  const rows = runs.map((run) => el("tr", {
      "data-run": run.id, class: run.id === state.run ? "selected" : "", onclick: () => openRun(run.id) },
    el("td", {}, String(run.id)),
    el("td", { class: "status " + run.status }, run.status),
    el("td", {}, run.pipeline),
    el("td", {}, run.event),
    el("td", {}, el("code", {}, run.commit.slice(0, 12))),
    el("td", {}, seconds(run.duration))));
  $("runs").tBodies[0].replaceChildren(...rows);
  $("refreshed").textContent = "refreshed " + new Date().toLocaleTimeString();
}

async function openRun(id) {
  if (state.run !== id) { state.run = id; state.job = null; stopLog(); $("log").textContent = ""; $("log-job").textContent = ""; }
  $("run-panel").hidden = false;
  await refreshRun();
  refreshRuns();
}

async function refreshRun() {
  if (state.run == null) return;
  const run = await getJson("/api/runs/" + state.run);
  $("run-id").textContent = "#" + run.id;
  $("run-status").textContent = run.status;
  $("run-status").className = "status " + run.status;
  $("run-meta").textContent = `${run.event} · ${run.branch || run.tag || ""} · ${run.commit.slice(0, 12)} · ${run.requested_by}`;
  const live = run.status === "queued" || run.status === "running";
  $("cancel").disabled = !live;
  $("rerun").disabled = $("rerun-failed").disabled = live;
  $("graph").replaceChildren(...run.pipelines.map((p) => pipelineGraph(run, p, live)));
  if (!state.job) {
    const first = run.pipelines.flatMap((p) => p.jobs.map((j) => [p.path, j]))
      .find(([, j]) => j.status === "running") ;
    if (first) openLog(first[0], first[1].name);
  }
}

function pipelineGraph(run, pipeline, live) {
  const stages = pipeline.stages.map((stage) => {
    const jobs = pipeline.jobs.filter((job) => job.stage === stage).map((job) => jobBox(pipeline, job, live));
    return jobs.length ? el("div", { class: "stage" }, el("h5", {}, stage), ...jobs) : "";
  });
  return el("div", { class: "pipeline" }, el("h4", {}, pipeline.path), el("div", { class: "stages" }, ...stages));
}

function jobBox(pipeline, job, live) {
  const selected = state.job === job.name && state.pipeline === pipeline.path;
  const box = el("button", {
      type: "button", class: `job ${job.status}${selected ? " selected" : ""}`, "data-job": job.name,
      onclick: () => openLog(pipeline.path, job.name) },
    job.name,
    el("small", { class: "status " + job.status }, job.status + " " + seconds(job.duration)));
  if (job.needs.length) box.title = "needs " + job.needs.join(", ");
  if (live && pipeline.awaiting_approval.includes(job.name)) {
    const approve = el("button", { type: "button", class: "approve", "data-approve": job.name,
      onclick: async (event) => { event.stopPropagation(); await post(`/api/runs/${state.run}/jobs/${encodeURIComponent(job.name)}/approve`); refreshRun(); } },
      "Approve");
    return el("div", {}, box, approve);
  }
  return box;
}

function stopLog() { if (state.source) { state.source.close(); state.source = null; } }

function openLog(pipeline, job) {
  stopLog();
  state.job = job; state.pipeline = pipeline;
  $("log-job").textContent = job;
  $("log").textContent = "";
  const query = "?pipeline=" + encodeURIComponent(pipeline);
  const source = new EventSource(`/api/runs/${state.run}/jobs/${encodeURIComponent(job)}/log/stream${query}`);
  source.onmessage = (event) => {
    const log = $("log");
    const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.append(JSON.parse(event.data) + "\n");
    if (atEnd) log.scrollTop = log.scrollHeight;
  };
  source.addEventListener("end", () => { source.close(); refreshRun(); });
  state.source = source;
  refreshRun();
}

$("cancel").addEventListener("click", async () => { await post(`/api/runs/${state.run}/cancel`); refreshRun(); });
$("rerun").addEventListener("click", async () => { const r = await post(`/api/runs/${state.run}/rerun`); if (r.run) openRun(r.run); });
$("rerun-failed").addEventListener("click", async () => { const r = await post(`/api/runs/${state.run}/rerun?failed=1`); if (r.run) openRun(r.run); });
$("set-token").addEventListener("click", askToken);

token();
refreshRuns();
setInterval(() => { refreshRuns().catch(() => {}); refreshRun().catch(() => {}); }, 2000);
