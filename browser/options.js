// The options page: host, port and secret (filled from the local drayman through
// the native host), what to capture, and "Test connection".
"use strict";

var FIELDS = ["host", "port", "secret", "startMode", "dir", "fileTypes", "excludeSites", "bypassKey"];

function $(id) { return document.getElementById(id); }

function fromForm() {
  var values = {};
  FIELDS.forEach(function (name) { values[name] = $(name).value.trim(); });
  values.port = Number(values.port) || 6800;
  values.minSize = Math.round(Math.max(0, Number($("minSizeMiB").value) || 0) * 1024 * 1024);
  return values;
}

function fill(settings) {
  FIELDS.forEach(function (name) { $(name).value = settings[name]; });
  $("minSizeMiB").value = String(Math.round((settings.minSize / 1048576) * 10) / 10);
}

function say(text, good) {
  $("result").textContent = text;
  $("result").className = good ? "ok" : "bad";
}

async function start() {
  var settings = await loadSettings();
  fill(settings);
  if (!settings.secret && isLocalHost(settings.host)) {
    try {
      var answer = await askNativeHost(settings, false);
      await saveSettings({ port: answer.port, secret: answer.secret });
      $("port").value = String(answer.port);
      $("secret").value = answer.secret;
      say("Filled in from drayman on this computer" + (answer.running ? "." : " (not running now; it starts when needed)."), true);
    } catch (error) {
      say(error.message, false);
    }
  }
}

$("save").addEventListener("click", async function () {
  await saveSettings(fromForm());
  $("saved").textContent = "Saved.";
});

$("test").addEventListener("click", async function () {
  say("Testing…", true);
  var values = fromForm();
  try {
    var version = await rpcCall(values, "aria2.getVersion", [], 8000);
    await saveSettings(values);
    say("Connected to drayman " + (version.drayman || version.version) + ".", true);
  } catch (error) {
    say(error.message, false);
  }
});

start();
