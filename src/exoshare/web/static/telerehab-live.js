// Live session page: one WebSocket, reconnecting on its own; canvas traces of both legs.
(function () {
  "use strict";
  const root = document.getElementById("live");
  if (!root) return;
  const id = root.dataset.session;
  const csrf = root.dataset.csrf;
  const t = (key) => root.dataset["t" + key.charAt(0).toUpperCase() + key.slice(1).replace(/_(.)/g, (m, c) => "_" + c)] || root.dataset["t" + key] || key;
  const text = (key) => root.getAttribute("data-t-" + key) || key;
  const labels = JSON.parse(root.dataset.labels || "{}");
  const label = (group, key) => (labels[group] && labels[group][key]) || key;
  // Numbers as the page's locale writes them (its symbols come from the server's Babel).
  const symbols = labels.number || { decimal: ".", group: "," };
  const num = (v, digits) => {
    if (v === null || v === undefined || v === "") return "—";
    if (typeof v !== "number") return String(v);
    const [whole, part] = (digits === undefined ? String(v) : v.toFixed(digits)).split(".");
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, symbols.group);
    return part === undefined ? grouped : grouped + symbols.decimal + part;
  };
  // Why a setting change did not happen: its check's words, else its outcome's, else its
  // problem's title; the API's English sentence is never shown.
  const why = (check, status) =>
    (labels.refusal && labels.refusal[check]) ||
    (check && check !== "passed" && labels.problem && labels.problem[check]) ||
    (labels.outcome && labels.outcome[status]) || "";
  // Which lifecycle actions each status allows (mirrors telerehab.sessions.TRANSITIONS).
  const ACTIONS = {
    planned: ["start", "abort"], started: ["pause", "complete", "abort"],
    live: ["pause", "complete", "abort"], paused: ["resume", "complete", "abort"],
    completed: [], aborted: [],
  };
  function setStatus(status) {
    set("status", label("status", status));
    for (const b of document.querySelectorAll("button.lifecycle")) {
      b.hidden = !(ACTIONS[status] || []).includes(b.dataset.action);
    }
  }
  function alertText(a) {
    const [what, unit] = (labels.alert && labels.alert[a.kind]) || [a.kind, ""];
    if (a.value == null || a.limit == null) return what;
    const fmt = (labels.alert_format && labels.alert_format.text) || "%(what)s: %(value)s %(unit)s (limit %(limit)s %(unit)s)";
    return fmt.replace("%(what)s", what).replace("%(value)s", num(Number(a.value), 1))
      .replace("%(limit)s", num(Number(a.limit), 1)).replaceAll("%(unit)s", unit);
  }
  const WINDOW_S = 10;
  const MIN_SPAN_DEG = 20;
  const COLOURS = { left: "#1f6fb2", right: "#d9730d" };
  const series = {}; // channel -> {t: [], v: []}
  let latest = 0;
  let retry = 500;

  function add(points) {
    for (const [name, pair] of Object.entries(points || {})) {
      const s = series[name] || (series[name] = { t: [], v: [] });
      const [ts, vs] = pair;
      for (let i = 0; i < ts.length; i++) {
        // Resent batches can arrive late: insert in time order.
        let j = s.t.length;
        while (j > 0 && s.t[j - 1] > ts[i]) j--;
        s.t.splice(j, 0, ts[i]);
        s.v.splice(j, 0, vs[i]);
        if (ts[i] > latest) latest = ts[i];
      }
    }
    for (const s of Object.values(series)) {
      let cut = 0;
      while (cut < s.t.length && s.t[cut] < latest - WINDOW_S) cut++;
      if (cut) { s.t.splice(0, cut); s.v.splice(0, cut); }
    }
  }

  function draw() {
    for (const canvas of document.querySelectorAll("canvas.live-chart")) {
      const joint = canvas.dataset.joint;
      const ctx = canvas.getContext("2d");
      const w = canvas.width, h = canvas.height;
      ctx.clearRect(0, 0, w, h);
      const sides = ["left", "right"].map((side) => [side, series[joint + "_angle_" + side + "_deg"]]).filter(([, s]) => s && s.t.length);
      if (!sides.length) continue;
      let lo = Infinity, hi = -Infinity;
      for (const [, s] of sides) for (const v of s.v) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      if (hi - lo < MIN_SPAN_DEG) {
        // A patient standing still moves a fraction of a degree: scaled to full height, that
        // sensor noise would look like a fault.
        const mid = (hi + lo) / 2;
        lo = mid - MIN_SPAN_DEG / 2; hi = mid + MIN_SPAN_DEG / 2;
      }
      const pad = (hi - lo) * 0.1;
      lo -= pad; hi += pad;
      ctx.strokeStyle = "#ddd"; ctx.beginPath(); ctx.moveTo(0, h - 0.5); ctx.lineTo(w, h - 0.5); ctx.stroke();
      ctx.fillStyle = "#666"; ctx.font = "11px sans-serif";
      ctx.fillText(hi.toFixed(0) + "°", 2, 11); ctx.fillText(lo.toFixed(0) + "°", 2, h - 3);
      for (const [side, s] of sides) {
        ctx.strokeStyle = COLOURS[side]; ctx.lineWidth = 1.5; ctx.beginPath();
        let pen = false;
        for (let i = 0; i < s.t.length; i++) {
          if (s.v[i] === null) { pen = false; continue; }
          const x = w - ((latest - s.t[i]) / WINDOW_S) * w;
          const y = h - ((s.v[i] - lo) / (hi - lo)) * h;
          if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
          pen = true;
        }
        ctx.stroke();
      }
    }
    requestAnimationFrame(draw);
  }

  function set(idName, value) {
    const el = document.getElementById(idName);
    if (el) el.textContent = value === null || value === undefined ? "—" : String(value);
  }

  function state(frame) {
    if (frame.metrics) {
      set("m-steps", frame.metrics.steps);
      set("m-cadence", num(frame.metrics.cadence_steps_per_min));
      set("m-symmetry", num(frame.metrics.step_time_symmetry_pct));
    }
    for (const [k, v] of Object.entries(frame.vitals || {})) set("v-" + k, num(v));
    if (frame.quality) {
      set("link", label("link", frame.quality.level));
      const detail = (labels.link_detail && labels.link_detail.text) || "(%(resends)s resends, gap %(gap)s s)";
      set("link-detail", detail.replace("%(resends)s", num(frame.quality.resends)).replace("%(gap)s", num(frame.quality.max_gap_60s_s)));
    }
    for (const [k, v] of Object.entries(frame.settings || {})) {
      const cell = document.querySelector('[data-setting="' + k + '"]');
      if (cell) cell.textContent = num(v);
    }
    if (frame.status) setStatus(frame.status);
  }

  const openAlerts = new Map();
  function showAlerts() {
    const banner = document.getElementById("alert-banner");
    banner.replaceChildren();
    for (const a of openAlerts.values()) {
      const form = document.createElement("form");
      form.className = "alert-item " + a.severity;
      form.dataset.alert = a.id;
      const msg = document.createElement("strong");
      msg.textContent = alertText(a);
      const note = document.createElement("input");
      note.name = "note"; note.required = true; note.placeholder = text("ack-note"); note.setAttribute("aria-label", text("note"));
      const button = document.createElement("button");
      button.type = "submit"; button.textContent = text("acknowledge");
      form.append(msg, " ", note, " ", button);
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (!note.value.trim()) { note.focus(); return; }
        const r = await post("/api/v1/telerehab/alerts/" + a.id + "/acknowledge", { note: note.value });
        if (r.ok) { openAlerts.delete(a.id); showAlerts(); }
      });
      banner.append(form);
    }
    banner.hidden = openAlerts.size === 0;
  }
  function alertFrame(a) {
    if (a.acknowledged) openAlerts.delete(a.id); else openAlerts.set(a.id, a);
    showAlerts();
    const li = document.createElement("li");
    li.textContent = alertText(a) + (a.acknowledged ? " · " + a.note : "");
    document.getElementById("alert-log").prepend(li);
  }
  function changeFrame(c) {
    const li = document.createElement("li");
    const reason = why(c.check, c.status);
    // The arrow points the way of reading (a right-to-left page reads it leftwards).
    const arrow = document.documentElement.dir === "rtl" ? " ← " : " → ";
    li.textContent = label("setting", c.setting) + arrow + num(c.value) + " " + c.unit + ": " + text(c.status) + (reason ? " — " + reason : "");
    document.getElementById("changes").prepend(li);
    if (c.status === "applied") {
      const cell = document.querySelector('[data-setting="' + c.setting + '"]');
      if (cell) cell.textContent = num(c.value);
    }
  }

  function toLogin() {
    location.href = "/login?next=" + encodeURIComponent(location.pathname);
  }

  async function post(url, body) {
    const r = await fetch(url, { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body) });
    // Signed out (here or in another tab) or expired: the login page, not an error box.
    if (r.status === 401) { toLogin(); throw new Error("signed out"); }
    return r;
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + location.host + "/api/v1/telerehab/sessions/" + id + "/live");
    ws.onopen = () => { retry = 500; };
    ws.onmessage = (event) => {
      const data = JSON.parse(event.data);
      // Frames that queued up while the server was busy come as one array, in order.
      for (const frame of Array.isArray(data) ? data : [data]) show(frame);
    };
    function show(frame) {
      if (frame.type === "snapshot") {
        for (const k of Object.keys(series)) delete series[k];
        latest = 0;
        add(frame.points);
        state(frame);
        openAlerts.clear();
        for (const a of frame.alerts || []) openAlerts.set(a.id, a);
        showAlerts();
      } else if (frame.type === "batch") { add(frame.points); state(frame); }
      else if (frame.type === "alert") alertFrame(frame.alert);
      else if (frame.type === "setting") changeFrame(frame.change);
      else if (frame.type === "status") setStatus(frame.status);
    }
    ws.onclose = (event) => {
      // 1008: the server refused this viewer (signed out, sign-in ended); retrying cannot help.
      if (event.code === 1008) { toLogin(); return; }
      set("link", text("reconnecting"));
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 8000);
    };
  }

  const form = document.getElementById("setting-form");
  if (form) form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = document.getElementById("setting-result");
    out.textContent = text("sending");
    const data = new FormData(form);
    const r = await post("/api/v1/telerehab/sessions/" + id + "/settings", { setting: data.get("setting"), value: Number(data.get("value")) });
    const body = await r.json();
    const slug = String(body.type || "").split("/").pop();
    const reason = r.ok ? why(body.check_result, body.status) : why(slug, "");
    out.textContent = (r.ok ? text(body.status) : text("refused")) + (reason ? " — " + reason : "");
    out.className = r.ok && body.applied ? "ok" : "alert";
  });
  function refusalText(body) {
    // A safety refusal lists every failed rule; show each in the reader's language.
    const errors = Array.isArray(body.errors) ? body.errors : [];
    const words = errors.map((e) => {
      const template = labels.eligibility && labels.eligibility[e.code];
      if (!template || !e.params) return label("problem", "session-not-eligible");
      return template.replace(/%\((\w+)\)s/g, (_, k) => (k in e.params ? e.params[k] : "?"));
    });
    const slug = String(body.type || "").split("/").pop();
    return words.length ? words.join("\n") : label("problem", slug);
  }

  async function lifecycle(action, body) {
    const r = await post("/api/v1/telerehab/sessions/" + id + "/" + action, body);
    const answer = await r.json();
    if (r.ok) setStatus(answer.status);
    return { ok: r.ok, text: r.ok ? "" : refusalText(answer) };
  }

  const abortDialog = document.getElementById("abort-dialog");
  const abortForm = document.getElementById("abort-form");
  for (const button of document.querySelectorAll("button.lifecycle")) {
    button.addEventListener("click", async () => {
      if (button.dataset.action === "abort" && abortDialog) {
        // Aborting stops a patient's therapy: confirm, with a reason, in a dialog first.
        abortForm.reset();
        document.getElementById("abort-result").textContent = "";
        abortDialog.showModal();
        return;
      }
      const result = await lifecycle(button.dataset.action, {});
      if (!result.ok) alert(result.text);
    });
  }
  if (abortForm) {
    document.getElementById("abort-cancel").addEventListener("click", () => abortDialog.close());
    abortForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const reason = String(new FormData(abortForm).get("reason") || "").trim();
      const out = document.getElementById("abort-result");
      if (!reason) { out.textContent = text("reason-required"); return; }
      const result = await lifecycle("abort", { reason });
      if (result.ok) abortDialog.close(); else out.textContent = result.text;
    });
  }
  void t;
  connect();
  requestAnimationFrame(draw);
})();
