// The popup: drayman's queue, live over the RPC's WebSocket (notifications, plus a
// refresh every second for progress and speed), with pause and resume.
"use strict";

var KEYS = ["gid", "status", "totalLength", "completedLength", "downloadSpeed", "files", "errorMessage"];
var socket = null;
var timer = null;

function human(bytes) {
  var n = Number(bytes) || 0;
  var units = ["B", "KiB", "MiB", "GiB", "TiB"];
  var i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(n)) + " " + units[i];
}

function nameOf(job) {
  var file = job.files && job.files[0];
  var path = file && file.path;
  if (path) return path.split(/[\\/]/).pop();
  var uri = file && file.uris && file.uris[0] && file.uris[0].uri;
  if (uri) {
    try { return decodeURIComponent(new URL(uri).pathname.split("/").pop()) || uri; } catch (e) { return uri; }
  }
  return "job " + job.gid;
}

function render(jobs, stat) {
  var list = document.getElementById("jobs");
  list.textContent = "";
  document.getElementById("speed").textContent = stat ? human(stat.downloadSpeed) + "/s" : "";
  document.getElementById("status").textContent = jobs.length ? "" : "No downloads yet.";
  jobs.forEach(function (job) {
    var total = Number(job.totalLength) || 0;
    var done = Number(job.completedLength) || 0;
    var item = document.createElement("li");
    item.className = job.status;
    item.dataset.gid = job.gid;
    var row = document.createElement("div");
    row.className = "row";
    var name = document.createElement("span");
    name.className = "name";
    name.textContent = nameOf(job);
    name.title = name.textContent;
    row.appendChild(name);
    var action = null;
    if (job.status === "active" || job.status === "waiting") action = ["Pause", "aria2.pause"];
    else if (job.status === "paused") action = ["Resume", "aria2.unpause"];
    if (action) {
      var button = document.createElement("button");
      button.textContent = action[0];
      button.addEventListener("click", function () {
        socket.call(action[1], [job.gid]).then(refresh, showError);
      });
      row.appendChild(button);
    }
    item.appendChild(row);
    var bar = document.createElement("div");
    bar.className = "bar";
    var fill = document.createElement("div");
    fill.style.width = (total ? Math.min(100, (100 * done) / total) : job.status === "complete" ? 100 : 0) + "%";
    bar.appendChild(fill);
    item.appendChild(bar);
    var meta = document.createElement("div");
    meta.className = "meta";
    var words = { active: "downloading", waiting: "queued", paused: "paused", complete: "done", error: "failed", removed: "removed" };
    var text = (words[job.status] || job.status) + " · " + human(done) + (total ? " of " + human(total) : "");
    if (job.status === "active") text += " · " + human(job.downloadSpeed) + "/s";
    if (job.status === "error" && job.errorMessage) text += " · " + job.errorMessage;
    meta.textContent = text;
    item.appendChild(meta);
    list.appendChild(item);
  });
}

function showError(error) {
  document.getElementById("status").textContent = String(error && error.message || error);
}

async function refresh() {
  if (!socket) return;
  var answers = await Promise.all([
    socket.call("aria2.tellActive", [KEYS]),
    socket.call("aria2.tellWaiting", [0, 100, KEYS]),
    socket.call("aria2.tellStopped", [-1, 30, KEYS]),
    socket.call("aria2.getGlobalStat", []),
  ]);
  render(answers[0].concat(answers[1], answers[2]), answers[3]);
}

async function connect() {
  var settings = await loadSettings();
  document.getElementById("capture").checked = Boolean(settings.capture);
  try {
    // starts a local drayman through the native host if needed, and learns its secret
    await rpcCallStarting("aria2.getVersion", []);
    settings = await loadSettings();
  } catch (error) {
    showError(error);
    return;
  }
  socket = new RpcSocket(settings, function () { refresh().catch(showError); }, function () {
    clearInterval(timer);
    showError(new Error("The connection to drayman closed."));
  });
  await refresh().catch(showError);
  timer = setInterval(function () { refresh().catch(showError); }, 1000);
}

document.getElementById("capture").addEventListener("change", function (event) {
  saveSettings({ capture: event.target.checked });
});
document.getElementById("options").addEventListener("click", function (event) {
  event.preventDefault();
  ext.runtime.openOptionsPage();
});
connect();
