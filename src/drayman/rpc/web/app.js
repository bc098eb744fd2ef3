// drayman's queue in a browser: a client of drayman's aria2 JSON-RPC over a WebSocket.
// The secret is typed once and kept in this browser's localStorage (for this address);
// it is sent inside each call's parameters ("token:..."), never in a URL.
"use strict";

(() => {
  const SECRET_KEY = "drayman.rpc-secret";
  const REFRESH_MS = 1000;
  const RECONNECT_MS = 2000;
  const KEYS = ["gid", "status", "totalLength", "completedLength", "downloadSpeed",
                "files", "errorMessage", "dir"];
  const $ = (id) => document.getElementById(id);

  let socket = null;
  let secret = null;
  let nextId = 1;
  const pending = new Map();
  let timer = null;
  let refreshing = false;
  let refreshAgain = false;
  let loggedIn = false;

  // -- the connection ------------------------------------------------------------

  class RpcError extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
  }

  function socketUrl() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + location.host + "/jsonrpc";
  }

  function open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(socketUrl());
      let opened = false;
      ws.onopen = () => { opened = true; socket = ws; resolve(ws); };
      ws.onmessage = (event) => received(event.data);
      ws.onerror = () => { if (!opened) reject(new Error("drayman cannot be reached")); };
      ws.onclose = () => {
        if (socket === ws) socket = null;
        for (const { reject: fail } of pending.values()) fail(new Error("the connection closed"));
        pending.clear();
        if (!opened) { reject(new Error("drayman cannot be reached")); return; }
        setConnection(false, "disconnected; trying again…");
        if (loggedIn) setTimeout(reconnect, RECONNECT_MS);
      };
    });
  }

  function received(text) {
    let message;
    try { message = JSON.parse(text); } catch (e) { return; }
    if (message && typeof message.method === "string" && message.id === undefined) {
      refreshSoon(); // aria2.onDownloadStart, ...Pause, ...Complete, ...
      return;
    }
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new RpcError(message.error.code, message.error.message));
    else waiter.resolve(message.result);
  }

  function call(method, ...params) {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error("not connected to drayman"));
    }
    const id = nextId++;
    const request = { jsonrpc: "2.0", id, method, params: ["token:" + secret, ...params] };
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify(request));
    });
  }

  async function connectWith(candidate) {
    secret = candidate;
    setConnection(false, "connecting…");
    if (!socket) await open();
    try {
      const version = await call("aria2.getVersion");
      loggedIn = true;
      localStorage.setItem(SECRET_KEY, candidate);
      const drayman = version.drayman ? "drayman " + version.drayman : "connected";
      setConnection(true, drayman);
      showQueue();
      refreshNow();
      if (timer === null) timer = setInterval(refreshNow, REFRESH_MS);
    } catch (error) {
      if (error instanceof RpcError && error.message === "Unauthorized") {
        forget();
        showLogin("drayman refused this secret (Unauthorized): it is not the one drayman " +
                  "was started with. Look in rpc-secret in drayman's config folder, or " +
                  "at the --rpc-secret it was given.");
        return;
      }
      throw error;
    }
  }

  async function reconnect() {
    if (!loggedIn || socket) return;
    try {
      await open();
      await connectWith(secret);
    } catch (error) {
      setConnection(false, "drayman cannot be reached; trying again…");
      setTimeout(reconnect, RECONNECT_MS);
    }
  }

  function forget() {
    loggedIn = false;
    secret = null;
    localStorage.removeItem(SECRET_KEY);
    if (timer !== null) { clearInterval(timer); timer = null; }
  }

  // -- what is shown -------------------------------------------------------------

  function setConnection(online, text) {
    const where = $("connection");
    where.textContent = text;
    where.classList.toggle("online", online);
  }

  function showLogin(message) {
    $("queue").hidden = true;
    $("forget").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("secret").value = "";
    $("secret").focus();
  }

  function showQueue() {
    $("login").hidden = true;
    $("login-error").textContent = "";
    $("queue").hidden = false;
    $("forget").hidden = false;
  }

  function showError(error) {
    $("error").textContent = error ? String(error.message || error) : "";
  }

  const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

  function size(bytes) {
    let value = Number(bytes);
    let unit = 0;
    while (value >= 1024 && unit < UNITS.length - 1) { value /= 1024; unit++; }
    return (unit === 0 ? String(value) : value.toFixed(value < 10 ? 1 : 0)) + " " + UNITS[unit];
  }

  function duration(seconds) {
    if (!isFinite(seconds) || seconds < 0) return "";
    seconds = Math.ceil(seconds);
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    if (h) return h + "h " + String(m).padStart(2, "0") + "m";
    if (m) return m + "m " + String(s).padStart(2, "0") + "s";
    return s + "s";
  }

  function nameOf(job) {
    const file = (job.files || [])[0] || {};
    if (file.path) return file.path.split(/[\\/]/).pop();
    const uri = ((file.uris || [])[0] || {}).uri || "";
    try {
      const last = new URL(uri).pathname.split("/").pop();
      return decodeURIComponent(last) || uri;
    } catch (e) {
      return uri;
    }
  }

  const STATE_TEXT = {
    active: "downloading", waiting: "queued", paused: "paused",
    error: "failed", complete: "done", removed: "removed",
  };

  // the buttons a job in each status gets: [label, method]
  const ACTIONS = {
    active: [["Pause", "aria2.pause"], ["Remove", "aria2.remove"]],
    waiting: [["Pause", "aria2.pause"], ["Remove", "aria2.remove"]],
    paused: [["Resume", "aria2.unpause"], ["Remove", "aria2.remove"]],
    error: [["Retry", "drayman.retry"], ["Clear", "aria2.removeDownloadResult"]],
    complete: [["Clear", "aria2.removeDownloadResult"]],
    removed: [["Clear", "aria2.removeDownloadResult"]],
  };

  function cell(row, className) {
    const td = document.createElement("td");
    td.className = className;
    row.appendChild(td);
    return td;
  }

  function newRow(gid) {
    const row = document.createElement("tr");
    row.id = "job-" + gid;
    row.dataset.gid = gid;
    cell(row, "name");
    cell(row, "num size");
    const progress = cell(row, "progress");
    progress.appendChild(document.createElement("progress"));
    progress.appendChild(document.createElement("span"));
    cell(row, "num speed");
    cell(row, "num eta");
    cell(row, "state");
    cell(row, "actions");
    return row;
  }

  function fill(row, job) {
    const total = Number(job.totalLength);
    const done = Number(job.completedLength);
    const speed = Number(job.downloadSpeed);
    const [name, sizeCell, progressCell, speedCell, etaCell, stateCell, actionsCell] = row.cells;
    row.dataset.status = job.status;
    row.dataset.completed = job.completedLength;
    row.dataset.total = job.totalLength;
    const title = nameOf(job);
    if (name.textContent !== title) { name.textContent = title; name.title = title; }
    sizeCell.textContent = total ? size(total) : "";
    const bar = progressCell.firstChild;
    if (total) {
      bar.hidden = false;
      bar.max = total;
      bar.value = done;
      progressCell.lastChild.textContent = Math.floor((done * 100) / total) + "%";
    } else {
      // no length known: a moving bar while it downloads, none otherwise
      bar.hidden = job.status !== "active";
      bar.removeAttribute("value");
      progressCell.lastChild.textContent = done ? size(done) : "";
    }
    const active = job.status === "active";
    speedCell.textContent = active && speed ? size(speed) + "/s" : "";
    etaCell.textContent = active && speed && total ? duration((total - done) / speed) : "";
    stateCell.className = "state " + job.status;
    stateCell.textContent = STATE_TEXT[job.status] || job.status;
    if (job.errorMessage) {
      const why = document.createElement("span");
      why.className = "why";
      why.textContent = job.errorMessage;
      why.title = job.errorMessage;
      stateCell.appendChild(why);
    }
    if (actionsCell.dataset.status !== job.status) {
      actionsCell.dataset.status = job.status;
      actionsCell.replaceChildren();
      for (const [label, method] of ACTIONS[job.status] || []) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = label;
        button.dataset.method = method;
        button.className = label.toLowerCase();
        actionsCell.appendChild(button);
      }
    }
  }

  // One row per GID. A job can move between the lists while they are asked for
  // (waiting in one answer, complete in the next): the later answer is the newer.
  function unique(jobs) {
    const at = new Map();
    const kept = [];
    for (const job of jobs) {
      if (at.has(job.gid)) kept[at.get(job.gid)] = job;
      else { at.set(job.gid, kept.length); kept.push(job); }
    }
    return kept;
  }

  function render(listed) {
    const jobs = unique(listed);
    const body = $("jobs").tBodies[0];
    const old = new Map();
    for (const row of [...body.rows]) {
      if (old.has(row.dataset.gid)) row.remove();
      else old.set(row.dataset.gid, row);
    }
    jobs.forEach((job, index) => {
      let row = old.get(job.gid);
      old.delete(job.gid);
      if (!row) row = newRow(job.gid);
      fill(row, job);
      if (body.rows[index] !== row) body.insertBefore(row, body.rows[index] || null);
    });
    for (const row of old.values()) row.remove();
    $("empty").hidden = jobs.length > 0;
  }

  async function refresh() {
    const [active, waiting, stopped, stat, options] = await Promise.all([
      call("aria2.tellActive", KEYS),
      call("aria2.tellWaiting", 0, 1000, KEYS),
      call("aria2.tellStopped", -1, 1000, KEYS), // the latest first
      call("aria2.getGlobalStat"),
      call("aria2.getGlobalOption"),
    ]);
    render([...active, ...waiting, ...stopped]);
    const speed = Number(stat.downloadSpeed);
    $("stats").textContent =
      stat.numActive + " downloading, " + stat.numWaiting + " waiting, " +
      stat.numStopped + " finished" + (speed ? " · " + size(speed) + "/s" : "");
    const limit = Number(options["max-overall-download-limit"] || 0);
    $("limit-now").textContent = limit ? "now " + size(limit) + "/s" : "now none";
  }

  async function refreshNow() {
    if (!loggedIn) return;
    if (refreshing) { refreshAgain = true; return; }
    refreshing = true;
    try {
      do {
        refreshAgain = false;
        await refresh();
      } while (refreshAgain);
      showError(null);
    } catch (error) {
      if (error instanceof RpcError && error.message === "Unauthorized") {
        forget();
        showLogin("drayman no longer takes this secret (it was started with another one).");
      } else if (socket) {
        showError(error);
      }
    } finally {
      refreshing = false;
    }
  }

  let soon = null;
  function refreshSoon() {
    if (soon === null) soon = setTimeout(() => { soon = null; refreshNow(); }, 50);
  }

  // -- what the user does ----------------------------------------------------------

  async function act(what) {
    try {
      showError(null);
      await what();
    } catch (error) {
      showError(error);
    }
    refreshNow();
  }

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const typed = $("secret").value.trim();
    if (!typed) { $("login-error").textContent = "Type drayman's RPC secret."; return; }
    $("login-error").textContent = "checking…";
    $("connect").disabled = true;
    try {
      await connectWith(typed);
    } catch (error) {
      $("login-error").textContent = String(error.message || error);
    } finally {
      $("connect").disabled = false;
    }
  });

  $("forget").addEventListener("click", () => {
    forget();
    render([]);
    showLogin("");
  });

  $("add-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(async () => {
      const lines = $("urls").value.split(/\r?\n/).map((line) => line.trim());
      const urls = lines.filter((line) => line && !line.startsWith("#"));
      if (!urls.length) { $("add-result").textContent = "Paste one link per line."; return; }
      const folder = $("folder").value.trim();
      const options = folder ? { dir: folder } : {};
      const failed = [];
      const reasons = [];
      let added = 0;
      for (const url of urls) {
        try {
          await call("aria2.addUri", [url], options);
          added++;
        } catch (error) {
          failed.push(url);
          reasons.push(url + ": " + error.message);
        }
      }
      $("urls").value = failed.join("\n"); // what was not added stays, to fix
      $("add-result").textContent =
        "Added " + added + " of " + urls.length + "." + (reasons.length ? " " + reasons.join("; ") : "");
    });
  });

  $("limit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(async () => {
      const value = $("limit").value.trim() || "0";
      await call("aria2.changeGlobalOption", { "max-overall-download-limit": value });
      $("limit").value = "";
    });
  });

  $("pause-all").addEventListener("click", () => act(() => call("aria2.pauseAll")));
  $("resume-all").addEventListener("click", () => act(() => call("aria2.unpauseAll")));
  $("purge").addEventListener("click", () => act(() => call("aria2.purgeDownloadResult")));

  $("jobs").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-method]");
    if (!button) return;
    const gid = button.closest("tr").dataset.gid;
    button.disabled = true;
    act(() => call(button.dataset.method, gid));
  });

  // -- start -----------------------------------------------------------------------

  async function start() {
    const kept = localStorage.getItem(SECRET_KEY);
    if (!kept) {
      setConnection(false, "not connected");
      showLogin("");
      return;
    }
    try {
      await connectWith(kept);
    } catch (error) {
      setConnection(false, String(error.message || error));
      loggedIn = true;
      secret = kept;
      setTimeout(reconnect, RECONNECT_MS);
    }
  }

  start();
})();
