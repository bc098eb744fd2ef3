// drayman's background (a service worker in Chromium, an event page in Firefox):
// captures downloads, serves the context menu, starts drayman through the native host.
"use strict";

if (typeof importScripts === "function") importScripts("settings.js", "rpc.js", "capture.js");

// the bypass key was held (or the popup said so) until this time
var bypassUntil = 0;
// what happened lately, for the popup and the tests (never URLs' secrets or headers)
var recent = [];

function note(text) {
  recent.push({ at: Date.now(), text: text });
  if (recent.length > 20) recent.shift();
}

async function addToDrayman(url, referrer, storeId) {
  var settings = await loadSettings();
  var options = await jobOptions(url, referrer, settings, storeId);
  return await rpcCallStarting("aria2.addUri", [[url], options]);
}

// -- capturing the browser's downloads ---------------------------------------------

var seen = new Set();

function sleep(ms) {
  return new Promise(function (resolve) { setTimeout(resolve, ms); });
}

// Firefox creates the item before it knows the length: wait a little for it (a
// small file is often finished by then, and stays in the browser)
async function withSize(item) {
  for (var i = 0; i < 40 && !(item.totalBytes > 0) && item.state === "in_progress"; i++) {
    await sleep(50);
    var found = await ext.downloads.search({ id: item.id });
    if (!found.length) return null;
    item = found[0];
  }
  return item;
}

async function considerDownload(item) {
  if (seen.has(item.id)) return false;
  seen.add(item.id);
  if (!ext.downloads.onDeterminingFilename) {
    item = await withSize(item);
    if (!item || item.state !== "in_progress") return false;
  }
  var settings = await loadSettings();
  var reason = keepReason(item, settings, Date.now() < bypassUntil);
  if (reason) {
    note("kept in the browser (" + reason + ")");
    return false;
  }
  var url = item.finalUrl || item.url;
  try {
    await ext.downloads.cancel(item.id);
  } catch (error) {
    return false; // finished already: the browser has it
  }
  try { await ext.downloads.erase({ id: item.id }); } catch (error) { /* gone already */ }
  try {
    var gid = await addToDrayman(url, item.referrer || "", item.cookieStoreId);
    note("sent to drayman (" + gid + ")");
  } catch (error) {
    note("drayman: " + error.message);
    // drayman cannot take it: give it back to the browser, without capturing it again
    bypassUntil = Date.now() + 2000;
    try { await ext.downloads.download({ url: url }); } catch (again) { /* nothing more to do */ }
  }
  return true;
}

if (ext.downloads.onDeterminingFilename) {
  // Chromium: the download waits for suggest(); its size is known by then
  ext.downloads.onDeterminingFilename.addListener(function (item, suggest) {
    considerDownload(item).finally(function () { try { suggest(); } catch (error) { /* cancelled */ } });
    return true;
  });
} else {
  ext.downloads.onCreated.addListener(function (item) { considerDownload(item); });
}

// -- the bypass key (content.js) and the popup ---------------------------------------

ext.runtime.onMessage.addListener(function (message, sender, reply) {
  if (!message || typeof message !== "object") return false;
  if (message.type === "bypass") {
    var until = Date.now() + Math.min(Number(message.ms) || 3000, 10000);
    bypassUntil = message.on ? Math.max(bypassUntil, until) : Math.min(bypassUntil, until);
    return false;
  }
  if (message.type === "recent") {
    reply(recent.slice());
    return false;
  }
  return false;
});

// -- the context menu -----------------------------------------------------------------

var MENU_ID = "drayman-download";

function createMenu() {
  ext.contextMenus.removeAll(function () {
    ext.contextMenus.create({
      id: MENU_ID,
      title: "Download with drayman",
      contexts: ["link", "image", "video", "audio", "selection"],
    });
  });
}
ext.runtime.onInstalled.addListener(createMenu);
// the first time: the options page, which fills in a local drayman's port and secret
ext.runtime.onInstalled.addListener(function (details) {
  if (details.reason === "install") ext.runtime.openOptionsPage();
});
if (ext.runtime.onStartup) ext.runtime.onStartup.addListener(createMenu);

// runs in the page: the http(s) links inside the user's selection
function selectedLinks() {
  var found = [];
  var selection = window.getSelection();
  for (var i = 0; i < selection.rangeCount; i++) {
    var range = selection.getRangeAt(i);
    var root = range.commonAncestorContainer;
    if (root.nodeType !== 1) root = root.parentElement;
    var anchor = root && root.closest ? root.closest("a[href]") : null;
    if (anchor) found.push(anchor.href);
    if (root && root.querySelectorAll) {
      root.querySelectorAll("a[href]").forEach(function (a) {
        if (range.intersectsNode(a)) found.push(a.href);
      });
    }
  }
  return found;
}

async function menuClicked(info, tab) {
  var urls = [];
  if (info.linkUrl) urls = [info.linkUrl];
  else if (info.srcUrl) urls = [info.srcUrl];
  else if (info.selectionText && tab && tab.id !== undefined) {
    var target = { tabId: tab.id };
    if (info.frameId) target.frameIds = [info.frameId];
    var results = await ext.scripting.executeScript({ target: target, func: selectedLinks });
    results.forEach(function (r) { urls = urls.concat(r.result || []); });
  }
  urls = urls.filter(function (u, i) { return /^https?:/i.test(u) && urls.indexOf(u) === i; });
  var referrer = info.frameUrl || info.pageUrl || (tab && tab.url) || "";
  var gids = [];
  for (var url of urls) {
    gids.push(await addToDrayman(url, referrer, tab && tab.cookieStoreId));
  }
  note("context menu: " + gids.length + " sent to drayman");
  return gids;
}

ext.contextMenus.onClicked.addListener(function (info, tab) {
  if (info.menuItemId !== MENU_ID) return;
  menuClicked(info, tab).catch(function (error) { note("drayman: " + error.message); });
});

// for the tests, through the DevTools protocol: the same handlers the browser calls
globalThis.drayman = { menuClicked: menuClicked, recent: function () { return recent.slice(); } };
