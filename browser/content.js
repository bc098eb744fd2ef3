// Holding the bypass key while clicking lets the browser keep that download.
"use strict";

(function () {
  var ext = globalThis.browser || globalThis.chrome;
  var key = "alt";
  ext.storage.local.get("bypassKey").then(function (stored) { if (stored.bypassKey) key = stored.bypassKey; });

  function held(event) { return Boolean(event[key + "Key"]); }
  function tell(on, ms) {
    try { ext.runtime.sendMessage({ type: "bypass", on: on, ms: ms }); } catch (error) { /* reloaded */ }
  }
  window.addEventListener("keydown", function (event) { if (held(event)) tell(true, 10000); }, true);
  window.addEventListener("keyup", function (event) { if (!held(event)) tell(false, 3000); }, true);
  ["mousedown", "click", "auxclick"].forEach(function (type) {
    window.addEventListener(type, function (event) { if (held(event)) tell(true, 5000); }, true);
  });
})();
