// Kadende's dashboard: plain JavaScript over the REST API (/v1) with the user's session token. Live events come
// over the server-sent event stream, read with fetch so the token travels in a header and never in a URL.
"use strict";

const state = {
  token: sessionStorage.getItem("kadende.token"),
  me: null,
  clusters: [],
  cluster: null,
  group: null,
  groups: [],
  stream: null,
  refreshTimer: null,
  pollTimer: null,
};

const $ = (id) => document.getElementById(id);

/** Calls the API; throws an Error carrying the API's code and message. A 401 ends the session. */
async function api(method, path, body, contentType = "application/json") {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = contentType;
  const res = await fetch(path, {
    method, headers,
    body: body === undefined ? undefined : (contentType === "application/json" ? JSON.stringify(body) : body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    if (res.status === 401) { endSession("Your session ended: log in again."); }
    const e = data && data.error ? data.error : { code: String(res.status), message: res.statusText };
    const err = new Error(`${e.message}${e.path ? ` (at ${e.path})` : ""}`);
    err.code = e.code;
    throw err;
  }
  return data;
}

const q = (params) => new URLSearchParams(params).toString();

function showError(err) {
  const banner = $("error");
  if (!err) { banner.hidden = true; return; }
  banner.textContent = err.code ? `${err.code}: ${err.message}` : String(err.message || err);
  banner.hidden = false;
}

// ---- Session ----

async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    const res = await fetch("/v1/login", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: $("user").value, password: $("password").value }),
    });
    const data = await res.json();
    if (!res.ok) throw new Error(data.error ? data.error.message : res.statusText);
    state.token = data.token;
    sessionStorage.setItem("kadende.token", data.token);
    $("password").value = "";
    await start();
  } catch (err) {
    $("login-error").textContent = err.message;
  }
}

function endSession(message) {
  state.token = null;
  sessionStorage.removeItem("kadende.token");
  if (state.stream) state.stream.abort();
  clearInterval(state.pollTimer);
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
}

async function start() {
  try {
    state.me = await api("GET", "/v1/whoami");
  } catch (err) {
    return endSession(err.code === "unauthenticated" ? "" : err.message);
  }
  $("login").hidden = true;
  $("app").hidden = false;
  const roles = Object.entries(state.me.roles || {}).map(([c, r]) => `${r} of ${c}`).join(", ");
  $("whoami").textContent = `${state.me.name}${state.me.admin ? " (admin)" : roles ? ` (${roles})` : ""}`;
  await loadClusters();
  // Heartbeat ages and verdicts change without events: a light poll keeps them current.
  clearInterval(state.pollTimer);
  state.pollTimer = setInterval(() => { if (!document.hidden) refresh(); }, 3000);
}

// ---- Clusters, groups, nodes ----

async function loadClusters() {
  state.clusters = await api("GET", "/v1/clusters");
  const nav = $("clusters");
  nav.replaceChildren(...state.clusters.map((c) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = c.name;
    b.dataset.cluster = c.name;
    b.addEventListener("click", () => selectCluster(c.name));
    return b;
  }));
  const names = state.clusters.map((c) => c.name);
  const wanted = names.includes(state.cluster) ? state.cluster : (names.includes("default") ? "default" : names[0]);
  if (wanted) await selectCluster(wanted);
}

async function selectCluster(name) {
  const changed = state.cluster !== name;
  state.cluster = name;
  for (const b of $("clusters").children) b.classList.toggle("selected", b.dataset.cluster === name);
  $("cluster-name").textContent = `in ${name}`;
  if (changed) {
    state.group = null;
    $("events").replaceChildren();
    follow();
  }
  await refresh();
}

async function refresh() {
  if (!state.cluster || !state.token) return;
  try {
    state.groups = await api("GET", `/v1/groups?${q({ cluster: state.cluster })}`);
    renderGroups();
    if (!state.group && state.groups.length) state.group = state.groups[0].name;
    if (state.group && !state.groups.some((g) => g.name === state.group)) state.group = null;
    await loadGroup();
    showError(null);
  } catch (err) {
    showError(err);
  }
}

/** Coalesces the refreshes many events in a row would ask for. */
function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refresh, 250);
}

function cell(text, className) {
  const td = document.createElement("td");
  if (text instanceof Node) td.append(text); else td.textContent = text ?? "";
  if (className) td.className = className;
  return td;
}

function badge(text) {
  const span = document.createElement("span");
  span.className = `badge ${text || "none"}`;
  span.textContent = text || "—";
  return span;
}

function renderGroups() {
  $("no-groups").hidden = state.groups.length > 0;
  $("groups").querySelector("tbody").replaceChildren(...state.groups.map((g) => {
    const tr = document.createElement("tr");
    tr.dataset.group = g.name;
    tr.classList.toggle("selected", g.name === state.group);
    const live = Object.values(g.nodes).reduce((a, b) => a + b, 0);
    const states = Object.entries(g.nodes).sort().map(([s, n]) => `${n} ${s}`).join(", ");
    tr.append(cell(g.name + (g.deleted ? " (deleting)" : "")), cell(g.provider), cell(`${g.healthy}/${live}`),
      cell(`${g.size.desired} (${g.size.min}–${g.size.max})`), cell(states || "none"), cell(String(g.revision)));
    tr.addEventListener("click", () => { state.group = g.name; refresh(); });
    return tr;
  }));
}

function ago(iso) {
  if (!iso) return "never";
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return s < 60 ? `${s.toFixed(0)} s ago` : s < 3600 ? `${(s / 60).toFixed(0)} min ago` : new Date(iso).toLocaleString();
}

async function loadGroup() {
  const panel = $("group-panel");
  if (!state.group) { panel.hidden = true; return; }
  const group = state.groups.find((g) => g.name === state.group);
  const scope = q({ cluster: state.cluster });
  const [nodes, config] = await Promise.all([
    api("GET", `/v1/nodes?${q({ cluster: state.cluster, group: state.group })}`),
    api("GET", `/v1/groups/${encodeURIComponent(state.group)}/config/status?${scope}`),
  ]);
  panel.hidden = false;
  // Viewers read; the forms are for operators (the API refuses them anyway).
  const mayChange = state.me.admin || (state.me.roles || {})[state.cluster] === "operator";
  $("scale-form").hidden = !mayChange;
  $("push-form").hidden = !mayChange;
  $("group-title").textContent = `${state.group} — ${group.healthy} of ${group.size.desired} healthy`;
  const desired = $("scale-desired");
  if (document.activeElement !== desired) desired.value = group.size.desired;
  desired.min = group.size.min;
  desired.max = group.size.max;
  $("scale-range").textContent = `between ${group.size.min} and ${group.size.max}`;

  $("nodes").querySelector("tbody").replaceChildren(...nodes.map((n) => {
    const tr = document.createElement("tr");
    tr.className = "node";
    tr.dataset.id = n.id;
    tr.dataset.state = n.state;
    tr.dataset.verdict = n.verdict || "";
    tr.append(cell(n.id, "id"), cell(badge(n.state)), cell(badge(n.verdict)),
      cell(n.verdictReason && n.state === "healthy" ? n.verdictReason : n.reason, "reason"),
      cell(n.connected ? "connected" : "not connected"), cell(ago(n.lastHeartbeat)), cell(n.address || ""));
    return tr;
  }));
  renderConfig(config);
}

function renderConfig(status) {
  const r = status.rollout;
  const summary = $("rollout-summary");
  summary.replaceChildren();
  if (!r) {
    summary.textContent = "No configuration pushed yet.";
    $("rollout-bar").style.width = "0";
  } else {
    const p = r.progress;
    summary.append(badge(r.state), ` revision ${r.revision}`,
      status.currentRevision ? ` · the group runs revision ${status.currentRevision}` : "",
      p ? ` · ${p.done} of ${p.targeted} done, ${p.applying} applying, ${p.baking} baking, ${p.failed} failed` : "",
      r.status ? ` · ${r.status}` : (r.reason ? ` · ${r.reason}` : ""));
    summary.dataset.state = r.state;
    summary.dataset.revision = r.revision;
    const done = p ? (p.targeted ? p.done / p.targeted : 1) : (r.state === "succeeded" ? 1 : 0);
    $("rollout-bar").style.width = `${Math.round(done * 100)}%`;
  }
  $("node-config").querySelector("tbody").replaceChildren(...status.nodes.map((n) => {
    const tr = document.createElement("tr");
    tr.dataset.id = n.id;
    tr.dataset.revision = n.revision ?? "";
    tr.append(cell(n.id, "id"), cell(n.revision ?? "—"), cell(badge(n.outcome)), cell(n.rollout || ""), cell(n.message || "", "reason"));
    return tr;
  }));
}

// ---- Actions ----

async function scale(event) {
  event.preventDefault();
  try {
    await api("POST", `/v1/groups/${encodeURIComponent(state.group)}/scale?${q({ cluster: state.cluster })}`,
      { desired: Number($("scale-desired").value) });
    $("scale-desired").blur();
    showError(null);
    await refresh();
  } catch (err) { showError(err); }
}

async function push(event) {
  event.preventDefault();
  try {
    await api("POST", `/v1/groups/${encodeURIComponent(state.group)}/config?${q({ cluster: state.cluster })}`,
      $("config-yaml").value, "application/yaml");
    showError(null);
    await refresh();
  } catch (err) { showError(err); }
}

// ---- Live events ----

const goodKinds = new Set(["node.enrolled", "node.connected", "config.rollout_finished", "group.breaker_closed"]);
const badKinds = new Set(["node.convicted", "provider.error", "group.breaker_opened", "node.config_failed", "config.rollback", "group.crash_loop_backoff"]);

function addEvent(e) {
  const li = document.createElement("li");
  const when = document.createElement("span");
  when.className = "when";
  when.textContent = new Date(e.at).toLocaleTimeString();
  const kind = document.createElement("span");
  kind.className = "kind";
  kind.textContent = e.kind;
  const bad = badKinds.has(e.kind) || / → (unhealthy|failed)/.test(e.reason);
  li.className = bad ? "bad" : goodKinds.has(e.kind) || / → healthy/.test(e.reason) ? "good" : "";
  li.dataset.seq = e.seq;
  li.append(when, kind, ` ${e.group ? e.group + " " : ""}${e.nodeID ? e.nodeID + ": " : ""}${e.reason}`);
  const list = $("events");
  list.prepend(li);
  while (list.children.length > 300) list.lastChild.remove();
}

/** A node's new state shows in its row at once, before the refresh that follows: a node can go from healthy to
 * terminated within a second, and every step should be seen. */
function showTransition(e) {
  const m = /^\S+ → (\S+?):/.exec(e.reason);
  if (!m || !e.nodeID) return;
  for (const tr of $("nodes").querySelectorAll("tr.node")) {
    if (tr.dataset.id !== e.nodeID) continue;
    tr.dataset.state = m[1];
    tr.children[1].replaceChildren(badge(m[1]));
    tr.children[3].textContent = e.reason.slice(m[0].length).trim();
  }
}

function setLive(on) {
  const live = $("live");
  live.textContent = on ? "live" : "reconnecting";
  live.className = `live ${on ? "on" : "off"}`;
}

/** Follows the selected cluster's event stream, reconnecting with backoff; resumes after the last event seen. */
async function follow() {
  if (state.stream) state.stream.abort();
  const controller = new AbortController();
  state.stream = controller;
  const cluster = state.cluster;
  let after = 0;
  let delay = 1000;
  while (!controller.signal.aborted && state.token) {
    try {
      const res = await fetch(`/v1/events/stream?${q({ cluster, after })}`, {
        headers: { Authorization: `Bearer ${state.token}` }, signal: controller.signal,
      });
      if (res.status === 401) return endSession("Your session ended: log in again.");
      if (!res.ok) throw new Error(`event stream: ${res.status}`);
      setLive(true);
      delay = 1000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
          if (!data) continue;
          const e = JSON.parse(data);
          after = Math.max(after, e.seq);
          addEvent(e);
          if (e.kind === "node.transition") showTransition(e);
          if (e.kind.startsWith("cluster.")) loadClusters(); else scheduleRefresh();
        }
      }
    } catch (err) {
      if (controller.signal.aborted) return;
    }
    setLive(false);
    await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
    delay = Math.min(delay * 2, 15000);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", async () => {
    // The session ends at the coordinator too: its id is the token's first 12 characters.
    try { await api("DELETE", "/v1/tokens/current"); } catch (err) { /* ends here anyway */ }
    endSession("");
  });
  $("scale-form").addEventListener("submit", scale);
  $("push-form").addEventListener("submit", push);
  if (state.token) start(); else endSession("");
});
