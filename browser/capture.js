// Which downloads go to drayman, and the headers a job gets: pure functions.
"use strict";

function hostOf(url) {
  try { return new URL(url).hostname.toLowerCase(); } catch (error) { return ""; }
}

function siteExcluded(url, excludeSites) {
  var host = hostOf(url);
  return String(excludeSites || "").split(/[\s,]+/).some(function (pattern) {
    pattern = pattern.trim().toLowerCase();
    if (!pattern) return false;
    if (pattern.indexOf("*.") === 0) {
      var base = pattern.slice(2);
      return host === base || host.endsWith("." + base);
    }
    return host === pattern;
  });
}

function typeWanted(name, url, fileTypes) {
  var wanted = String(fileTypes || "").toLowerCase().split(/[\s,]+/)
    .map(function (t) { return t.replace(/^\*?\./, ""); }).filter(Boolean);
  if (!wanted.length) return true;
  var base = String(name || "").split(/[\\/]/).pop();
  if (!base) {
    try { base = decodeURIComponent(new URL(url).pathname.split("/").pop()); } catch (error) { base = ""; }
  }
  var dot = base.lastIndexOf(".");
  return dot >= 0 && wanted.indexOf(base.slice(dot + 1).toLowerCase()) >= 0;
}

// Why a download stays in the browser, or "" when drayman takes it.
function keepReason(item, settings, bypassing) {
  var url = item.finalUrl || item.url || "";
  if (!/^https?:/i.test(url)) return "not http(s)";
  if (!settings.capture) return "capture paused";
  if (bypassing) return "bypass key";
  if (item.incognito) return "private window";
  var size = Math.max(Number(item.totalBytes) || 0, Number(item.fileSize) || 0);
  if (size > 0 && size < Number(settings.minSize || 0)) return "below the size threshold";
  if (siteExcluded(url, settings.excludeSites) || siteExcluded(item.referrer || "", settings.excludeSites)) {
    return "excluded site";
  }
  if (!typeWanted(item.filename, url, settings.fileTypes)) return "file type";
  return "";
}

// aria2.addUri's options for a URL: the page as Referer, the browser's User-Agent,
// and only that URL's cookies (as the browser would send them).
async function jobOptions(url, referrer, settings, storeId) {
  var options = { "user-agent": navigator.userAgent };
  if (referrer && /^https?:/i.test(referrer)) options.referer = referrer;
  var query = { url: url };
  if (storeId) query.storeId = storeId;
  var cookies = [];
  try { cookies = await ext.cookies.getAll(query); } catch (error) { cookies = []; }
  if (cookies.length) {
    options.header = ["Cookie: " + cookies.map(function (c) { return c.name + "=" + c.value; }).join("; ")];
  }
  if (settings.dir) options.dir = settings.dir;
  return options;
}
