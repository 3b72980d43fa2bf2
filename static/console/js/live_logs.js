// The live log viewer: lines arrive over a websocket and are grouped per request id.
// Every message is inserted as text, so a function's output can never become markup.
(function () {
  "use strict";
  const root = document.getElementById("live-tail");
  if (!root) return;
  const log = document.getElementById("live-log");
  const state = document.getElementById("live-state");
  const toggle = document.getElementById("live-toggle");
  const filter = document.getElementById("live-filter");
  const MAX_GROUPS = 500;
  const groups = new Map();  // request id -> element
  let socket = null;
  let running = false;
  let follow = true;         // auto-scroll, paused while the user reads further up
  let retry = 1000;

  function setState(text, on) {
    state.textContent = text;
    state.className = "live-state " + (on ? "on" : "off");
  }

  function time(ms) {
    const d = new Date(ms);
    return d.toISOString().slice(11, 23);
  }

  function matches(text) {
    const q = filter.value.trim().toLowerCase();
    return !q || text.toLowerCase().includes(q);
  }

  function groupFor(requestId) {
    const key = requestId || "(no request)";
    let group = groups.get(key);
    if (!group) {
      group = document.createElement("div");
      group.className = "request";
      group.dataset.requestId = key;
      const head = document.createElement("div");
      head.className = "request-id";
      head.textContent = "Request " + key;
      group.append(head);
      const hint = log.querySelector(".hint");
      if (hint) hint.remove();
      log.append(group);
      groups.set(key, group);
      if (groups.size > MAX_GROUPS) {
        const [oldest] = groups.keys();
        groups.get(oldest).remove();
        groups.delete(oldest);
      }
    }
    return group;
  }

  function addLine(line) {
    const group = groupFor(line.request_id);
    const row = document.createElement("div");
    const message = String(line.message);
    row.className = "line" + (/^(START|END|REPORT|INIT_START) /.test(message) ? " meta" : "");
    if (/error|exception|Task timed out/i.test(message) && !row.classList.contains("meta")) group.classList.add("error");
    const ts = document.createElement("span");
    ts.className = "ts";
    ts.textContent = time(line.timestamp);
    row.append(ts, document.createTextNode(message));
    row.dataset.text = message;
    row.hidden = !matches(message);
    group.append(row);
  }

  log.addEventListener("scroll", () => {
    follow = log.scrollTop + log.clientHeight >= log.scrollHeight - 24;
  });

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + root.dataset.wsPath);
    setState("Connecting…", false);
    socket.onopen = () => { retry = 1000; setState("Streaming", true); root.dataset.connected = "true"; };
    socket.onmessage = (e) => {
      const data = JSON.parse(e.data);
      if (data.type !== "lines") return;
      data.lines.forEach(addLine);
      if (follow) log.scrollTop = log.scrollHeight;
    };
    socket.onclose = (e) => {
      root.dataset.connected = "false";
      socket = null;
      if (e.code === 4404 || e.code === 4403) { setState("Not allowed", false); running = false; toggle.textContent = "Start"; return; }
      if (running) { setState("Reconnecting…", false); setTimeout(() => running && connect(), retry); retry = Math.min(retry * 2, 15000); }
      else setState("Stopped", false);
    };
  }

  function start() { running = true; toggle.textContent = "Stop"; toggle.classList.add("primary"); connect(); }
  function stop() { running = false; toggle.textContent = "Start"; toggle.classList.remove("primary"); if (socket) socket.close(); setState("Stopped", false); }

  toggle.addEventListener("click", () => running ? stop() : start());
  document.getElementById("live-clear").addEventListener("click", () => {
    groups.forEach((g) => g.remove());
    groups.clear();
  });
  filter.addEventListener("input", () => {
    log.querySelectorAll(".line").forEach((row) => { row.hidden = !matches(row.dataset.text); });
  });
  start();
})();
