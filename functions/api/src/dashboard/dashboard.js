// TacticEYE dashboard: the match list from the HTTP API, and one match followed live over its WebSocket
// (`/matches/{id}/live`), reconnecting with `?after=N` so that nothing is missed or counted twice.
"use strict";

const $ = (id) => document.getElementById(id);
const TEAM_FALLBACK = ["#e53935", "#1e88e5"];

// The token: from `#token=...` once (kept in this browser), else asked for.
let token = localStorage.getItem("tacticeye-token") || "";
const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromHash) {
  token = fromHash;
  localStorage.setItem("tacticeye-token", token);
  const rest = new URLSearchParams(location.hash.slice(1));
  rest.delete("token");
  history.replaceState(null, "", `${location.pathname}${rest.size ? `#${rest}` : ""}`);
}

// How this server wants to be called: `{"auth": "token"}` locally; in the cloud `{"auth": "aws_iam",
// "region": ..., "live_url": "wss://..."}`, every request signed with credentials kept for this tab only.
let config = { auth: "token" };
const credentials = () => JSON.parse(sessionStorage.getItem("tacticeye-aws") || "null");

async function api(path, options = {}) {
  let headers = { "content-type": "application/json" };
  if (config.auth === "aws_iam") {
    const c = credentials();
    if (!c) {
      $("aws-form").hidden = false;
      return { status: 403, body: null };
    }
    const signed = { method: options.method || "GET", url: path, body: options.body || "", region: config.region, credentials: c };
    headers = { ...headers, ...(await sigv4.headers(signed)) };
  } else if (token) {
    headers.authorization = `Bearer ${token}`;
  }
  const response = await fetch(path, { ...options, headers });
  const body = await response.json().catch(() => null);
  if (response.status === 401) $("token-form").hidden = false;
  if (response.status === 403 && config.auth === "aws_iam") $("aws-form").hidden = false;
  return { status: response.status, body };
}

const fmt = (x, digits = 1) => (typeof x === "number" ? x.toFixed(digits) : "-");

// ---- the match list ----

async function refreshMatches() {
  const { status, body } = await api("/matches");
  if (status !== 200) return;
  const rows = await Promise.all(
    body.matches.map(async (id) => ({ id, ...(await api(`/matches/${id}/summary`)).body })),
  );
  $("matches").tBodies[0].replaceChildren(
    ...rows.map((m) => {
      const tr = document.createElement("tr");
      tr.dataset.match = m.id;
      const progress = m.status === "queued" && m.position ? `place ${m.position} in line` : `${fmt(100 * (m.progress || 0), 0)} %`;
      const cost = typeof m.cost_usd === "number" ? `$${m.cost_usd.toFixed(4)}` : "-";
      for (const text of [m.id, m.status, progress, cost]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      tr.onclick = () => (location.hash = `match=${encodeURIComponent(m.id)}`);
      return tr;
    }),
  );
}

$("start-form").onsubmit = async (e) => {
  e.preventDefault();
  const source = $("start-source").value.trim();
  const request = /^[a-z][a-z0-9+.-]*:\/\//i.test(source) ? { url: source } : { path: source };
  if ($("start-id").value.trim()) request.match_id = $("start-id").value.trim();
  const { status, body } = await api("/matches", { method: "POST", body: JSON.stringify(request) });
  $("start-error").textContent = status === 202 ? "" : (body && body.error) || `error ${status}`;
  if (status === 202) {
    $("start-form").reset();
    location.hash = `match=${encodeURIComponent(body.match_id)}`;
  }
};

$("aws-form").onsubmit = (e) => {
  e.preventDefault();
  const c = { accessKeyId: $("aws-key").value.trim(), secretAccessKey: $("aws-secret").value.trim() };
  if ($("aws-session").value.trim()) c.sessionToken = $("aws-session").value.trim();
  sessionStorage.setItem("tacticeye-aws", JSON.stringify(c));
  $("aws-form").hidden = true;
  route();
};

$("token-form").onsubmit = (e) => {
  e.preventDefault();
  token = $("token").value;
  localStorage.setItem("tacticeye-token", token);
  $("token-form").hidden = true;
  route();
};

// ---- one match, live ----

let live = null;

class Live {
  constructor(id) {
    this.id = id;
    this.after = null; // the last segment shown
    this.events = []; // every event shown, in order
    this.kits = null;
    this.closed = false;
    this.bounds = null; // image coordinates' extent, while uncalibrated
    this.chain = Promise.resolve();
    this.connect();
  }

  stop() {
    this.closed = true;
    if (this.socket) this.socket.close();
    clearTimeout(this.retry);
  }

  async connect() {
    let url;
    let ask = null;
    if (config.live_url) {
      // The cloud's WebSocket API: a signed $connect names the match; the first message asks for what is missing.
      const c = credentials();
      if (!c) return void ($("aws-form").hidden = false);
      const match = `${config.live_url}?match=${encodeURIComponent(this.id)}`;
      url = await sigv4.presign({ url: match, region: config.region, credentials: c });
      ask = JSON.stringify(this.after === null ? {} : { after: this.after });
    } else {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const query = new URLSearchParams();
      if (this.after !== null) query.set("after", this.after);
      if (token) query.set("access_token", token);
      url = `${scheme}://${location.host}/matches/${encodeURIComponent(this.id)}/live?${query}`;
    }
    if (this.closed) return;
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      $("connection").textContent = "live";
      if (ask) socket.send(ask);
    };
    // One message at a time: a snapshot's history is read before the segments after it are counted.
    // A message the page cannot show is reported, and the next ones are still shown.
    socket.onmessage = (m) => {
      this.chain = this.chain.then(() => this.receive(JSON.parse(m.data))).catch((e) => {
        console.error(e);
        document.body.dataset.error = String(e && e.stack);
      });
    };
    socket.onclose = () => {
      if (this.closed) return;
      $("connection").textContent = "reconnecting";
      // Not started yet, or the server went away: say where the match stands and try again.
      this.pending();
      this.retry = setTimeout(() => this.connect(), 1000);
    };
  }

  async pending() {
    const { status, body } = await api(`/matches/${encodeURIComponent(this.id)}/summary`);
    if (status === 200 && ["queued", "starting", "failed"].includes(body.status)) {
      $("status").textContent = body.status + (body.position ? ` (place ${body.position})` : "");
      $("status").className = `status ${body.status}`;
      $("radar-note").textContent = body.error || "";
      if (body.status === "failed") this.stop();
    }
  }

  async receive(m) {
    if (m.type === "snapshot") {
      this.summary(m.summary);
      this.after = m.summary.segments_done - 1;
      // The events before the snapshot, from the API; those after come in segment messages.
      this.events = await this.history(m.summary.frames_done);
      this.drawEvents();
      this.positions(m.positions);
    } else if (m.type === "segment") {
      if (this.after !== null && m.index <= this.after) return;
      this.after = m.index;
      this.set("segments-done", m.index + 1);
      this.set("seconds-done", fmt(m.positions ? m.positions.time : 0));
      this.set("lag", fmt(m.lag_seconds));
      this.teams(m.kits);
      this.figures(m.possession, m.passes);
      this.events.push(...m.events);
      this.set("turnovers-0", m.turnovers_won.team_0);
      this.set("turnovers-1", m.turnovers_won.team_1);
      this.drawEvents();
      this.positions(m.positions);
      if ((m.index + 1) % 3 === 0) this.players();
    } else if (m.type === "completed") {
      this.summary(m.summary);
      this.closed = true;
      $("connection").textContent = "ended";
      this.players();
    }
  }

  async history(beforeFrame) {
    const events = [];
    for (let page = 0; ; page++) {
      const { status, body } = await api(`/matches/${encodeURIComponent(this.id)}/events?per_page=1000&page=${page}`);
      if (status !== 200) break;
      events.push(...body.items.filter((e) => e.frame < beforeFrame));
      if ((page + 1) * body.per_page >= body.total) break;
    }
    return events;
  }

  set(id, value) {
    $(id).textContent = value;
  }

  summary(s) {
    $("status").textContent = s.status;
    $("status").className = `status ${s.status}`;
    this.set("segments-done", s.segments_done);
    this.set("segments-total", s.segments_total);
    this.set("seconds-done", fmt(s.seconds_done));
    this.set("lag", fmt(s.lag_seconds));
    this.figures(s.possession, s.passes);
    this.set("turnovers-0", s.turnovers_won.team_0);
    this.set("turnovers-1", s.turnovers_won.team_1);
    this.teams(s.kits);
  }

  teams(kits) {
    if (!kits) return;
    this.kits = [kits.team_0, kits.team_1];
    this.kits.forEach((c, i) => ($(`kit-${i}`).style.background = c));
  }

  figures(possession, passes) {
    const p = [possession.team_0, possession.team_1];
    const total = p[0] + p[1];
    p.forEach((v, i) => {
      this.set(`possession-${i}`, fmt(v));
      this.set(`passes-${i}`, i === 0 ? passes.team_0 : passes.team_1);
      const bar = $(`bar-${i}`);
      bar.style.width = `${total > 0 ? (100 * v) / total : 50}%`;
      bar.style.background = this.colour(i);
    });
  }

  colour(team) {
    return (this.kits && this.kits[team]) || TEAM_FALLBACK[team] || "#9e9e9e";
  }

  // The radar: the pitch from above, players in their team's colour with their id, the ball.
  positions(frame) {
    const canvas = $("radar");
    const g = canvas.getContext("2d");
    const [W, H] = [canvas.width, canvas.height];
    g.clearRect(0, 0, W, H);
    if (!frame) return;
    const onPitch = frame.objects.some((o) => o.pitch);
    const m = 20;
    let place;
    if (onPitch) {
      const [L, Wd] = [105, 68];
      const s = Math.min((W - 2 * m) / L, (H - 2 * m) / Wd);
      place = ([x, y]) => [m + x * s, m + y * s];
      drawPitch(g, place, s, L, Wd);
      $("radar-note").textContent = `frame ${frame.frame}: positions on the pitch, metres`;
    } else {
      // Uncalibrated: the image's coordinates, scaled to what has been seen.
      const feet = frame.objects.map((o) => [(o.box[0] + o.box[2]) / 2, o.box[3]]);
      const b = this.bounds || [1, 1];
      for (const [x, y] of feet) (b[0] = Math.max(b[0], x)), (b[1] = Math.max(b[1], y));
      this.bounds = b;
      const s = Math.min((W - 2 * m) / b[0], (H - 2 * m) / b[1]);
      place = ([x, y]) => [m + x * s, m + y * s];
      $("radar-note").textContent = `frame ${frame.frame}: image coordinates (the match has no pitch calibration)`;
    }
    for (const o of frame.objects) {
      // On the pitch, an object the camera model could not place is left out rather than misplaced.
      if (onPitch && !o.pitch) continue;
      const at = o.pitch || [(o.box[0] + o.box[2]) / 2, o.box[3]];
      const [x, y] = place(at);
      g.beginPath();
      g.arc(x, y, 8, 0, 2 * Math.PI);
      g.fillStyle = o.role === "referee" ? "#212121" : o.team === null ? "#bdbdbd" : this.colour(o.team);
      g.fill();
      g.lineWidth = o.track_id === frame.owner ? 3 : 1;
      g.strokeStyle = o.track_id === frame.owner ? "#ffeb3b" : "#000";
      g.stroke();
      g.fillStyle = "#fff";
      g.font = "bold 10px sans-serif";
      g.textAlign = "center";
      g.fillText(String(o.track_id), x, y - 11);
    }
    const ball = onPitch ? frame.ball_pitch : frame.ball && [frame.ball.x, frame.ball.y];
    if (ball) {
      const [x, y] = place(ball);
      g.beginPath();
      g.arc(x, y, 5, 0, 2 * Math.PI);
      g.fillStyle = "#fff";
      g.fill();
      g.strokeStyle = "#000";
      g.lineWidth = 1.5;
      g.stroke();
    }
  }

  drawEvents() {
    const shown = this.events.filter((e) => e.kind !== "possession_change").slice(-60).reverse();
    $("events").replaceChildren(
      ...shown.map((e) => {
        const li = document.createElement("li");
        const who = e.from_track != null ? ` #${e.from_track}${e.to_track != null ? ` → #${e.to_track}` : ""}` : "";
        const team = e.team != null ? ` team ${e.team}` : "";
        li.textContent = `${fmt(e.time)} s  ${e.kind.replace("_", " ")}${team}${who}`;
        return li;
      }),
    );
    this.chart();
  }

  // Cumulative passes (solid) and turnovers won (dashed) per team against match time.
  chart() {
    const svg = $("chart");
    const [W, H, m] = [400, 160, 24];
    const end = Math.max(1, ...this.events.map((e) => e.time), Number($("seconds-done").textContent) || 0);
    const lines = [];
    let top = 1;
    for (const kind of ["pass", "turnover"]) {
      for (const team of [0, 1]) {
        const points = [[0, 0]];
        for (const e of this.events) if (e.kind === kind && e.team === team) points.push([e.time, points.length]);
        points.push([end, points.length - 1]);
        top = Math.max(top, points.length - 2);
        lines.push({ kind, team, points });
      }
    }
    const x = (t) => m + ((W - 2 * m) * t) / end;
    const y = (n) => H - m - ((H - 2 * m) * n) / top;
    const ns = "http://www.w3.org/2000/svg";
    const nodes = lines.map(({ kind, team, points }) => {
      const path = document.createElementNS(ns, "polyline");
      const d = [];
      points.forEach(([t, n], i) => {
        if (i > 0) d.push(`${x(t)},${y(points[i - 1][1])}`);
        d.push(`${x(t)},${y(n)}`);
      });
      path.setAttribute("points", d.join(" "));
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", this.colour(team));
      path.setAttribute("stroke-width", "2");
      if (kind === "turnover") path.setAttribute("stroke-dasharray", "4 3");
      return path;
    });
    const axis = document.createElementNS(ns, "text");
    axis.setAttribute("x", m);
    axis.setAttribute("y", 12);
    axis.setAttribute("font-size", "10");
    axis.textContent = `${top} — passes (solid), turnovers won (dashed); 0–${fmt(end, 0)} s`;
    svg.replaceChildren(axis, ...nodes);
  }

  async players() {
    const { status, body } = await api(`/matches/${encodeURIComponent(this.id)}/stats`);
    if (status !== 200) {
      $("players-note").textContent = status === 409 ? "Per-player figures need a pitch calibration." : "";
      return;
    }
    const rows = body.players
      .filter((p) => p.seconds > 0 && p.role !== "referee")
      .sort((a, b) => b.distance_m - a.distance_m);
    $("players").tBodies[0].replaceChildren(
      ...rows.map((p) => {
        const tr = document.createElement("tr");
        for (const text of [p.track_id, p.team ?? "-", fmt(p.distance_m, 0), fmt(p.top_speed_kmh), p.sprints]) {
          const td = document.createElement("td");
          td.textContent = text;
          tr.append(td);
        }
        return tr;
      }),
    );
    $("players-note").textContent = "";
  }
}

function drawPitch(g, place, s, L, W) {
  g.strokeStyle = "rgba(255,255,255,.85)";
  g.lineWidth = 1.5;
  const rect = (x, y, w, h) => {
    const [px, py] = place([x, y]);
    g.strokeRect(px, py, w * s, h * s);
  };
  const circle = (x, y, r) => {
    const [px, py] = place([x, y]);
    g.beginPath();
    g.arc(px, py, r * s, 0, 2 * Math.PI);
    g.stroke();
  };
  rect(0, 0, L, W);
  const [hx, hy0] = place([L / 2, 0]);
  const [, hy1] = place([L / 2, W]);
  g.beginPath();
  g.moveTo(hx, hy0);
  g.lineTo(hx, hy1);
  g.stroke();
  circle(L / 2, W / 2, 9.15);
  for (const x0 of [0, L - 16.5]) rect(x0, W / 2 - 20.16, 16.5, 40.32);
  for (const x0 of [0, L - 5.5]) rect(x0, W / 2 - 9.16, 5.5, 18.32);
}

// ---- routing: `#match=ID` shows one match, anything else the list ----

let listTimer = null;

function route() {
  const id = new URLSearchParams(location.hash.slice(1)).get("match");
  if (live) live.stop();
  live = null;
  clearInterval(listTimer);
  $("matches-view").hidden = !!id;
  $("match-view").hidden = !id;
  if (id) {
    $("match-id").textContent = id;
    $("events").replaceChildren();
    $("players").tBodies[0].replaceChildren();
    live = new Live(id);
  } else {
    refreshMatches();
    listTimer = setInterval(refreshMatches, 2000);
  }
}

window.addEventListener("hashchange", route);
fetch("/dashboard.json")
  .then((r) => r.json())
  .then((c) => (config = c))
  .catch(() => {})
  .finally(route);
