// drayman's settings, in the extension's local storage (never in a URL, never logged).
"use strict";

var ext = globalThis.browser || globalThis.chrome;

var DEFAULT_SETTINGS = {
  host: "127.0.0.1",
  port: 6800,
  secret: "",
  // capture the browser's downloads at all (the popup's one-click pause)
  capture: true,
  // bytes; smaller files stay in the browser (0: every size). Unknown sizes are captured.
  minSize: 1024 * 1024,
  // file extensions to capture ("" = every type), e.g. "zip iso mp4"
  fileTypes: "",
  // sites whose downloads stay in the browser: one host per line, *.example.com for subdomains
  excludeSites: "",
  // held while clicking, the browser keeps the download: "alt", "ctrl", "shift" or "meta"
  bypassKey: "alt",
  // what the native host starts when drayman is not running: "engine" or "window"
  startMode: "engine",
  // a folder for drayman's jobs ("" = drayman's default)
  dir: "",
};

async function loadSettings() {
  var stored = await ext.storage.local.get(Object.keys(DEFAULT_SETTINGS));
  return Object.assign({}, DEFAULT_SETTINGS, stored);
}

async function saveSettings(changes) {
  await ext.storage.local.set(changes);
}

function isLocalHost(host) {
  var name = String(host || "").toLowerCase().replace(/^\[|\]$/g, "");
  return name === "localhost" || name === "::1" || /^127\./.test(name);
}
