// A client of drayman's aria2 JSON-RPC. The secret travels in the request body
// (aria2's "token:" parameter) or in WebSocket messages, never in a URL.
"use strict";

var NATIVE_HOST = "org.drayman.host";

class RpcError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

function rpcBase(settings) {
  var host = String(settings.host || "127.0.0.1");
  if (host.indexOf(":") >= 0 && host[0] !== "[") host = "[" + host + "]";
  return host + ":" + Number(settings.port || 6800) + "/jsonrpc";
}

var rpcCounter = 0;

async function rpcCall(settings, method, params, timeoutMs) {
  var body = {
    jsonrpc: "2.0",
    id: "drayman-ext-" + ++rpcCounter,
    method: method,
    params: ["token:" + (settings.secret || "")].concat(params || []),
  };
  var controller = new AbortController();
  var timer = setTimeout(function () { controller.abort(); }, timeoutMs || 10000);
  var response;
  try {
    response = await fetch("http://" + rpcBase(settings), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      signal: controller.signal,
    });
  } catch (error) {
    throw new RpcError("drayman is not reachable at " + rpcBase(settings), "unreachable");
  } finally {
    clearTimeout(timer);
  }
  var answer;
  try {
    answer = await response.json();
  } catch (error) {
    throw new RpcError("not drayman's RPC at " + rpcBase(settings) + " (HTTP " + response.status + ")", "other");
  }
  if (answer && answer.error) {
    var message = String(answer.error.message || "error");
    throw new RpcError(message === "Unauthorized" ? "drayman refused the secret" : message,
      message === "Unauthorized" ? "unauthorized" : "failed");
  }
  return answer.result;
}

// Ask `drayman native-host` (installed with `drayman browser install`) for the
// local drayman's port and secret; with start=true it starts drayman if needed.
async function askNativeHost(settings, start) {
  var request = { command: start ? "start" : "info", port: Number(settings.port || 6800),
    window: settings.startMode === "window" };
  var answer;
  try {
    answer = await ext.runtime.sendNativeMessage(NATIVE_HOST, request);
  } catch (error) {
    throw new RpcError("drayman is not running, and it cannot be started from the browser: " +
      "run `drayman browser install` (" + String(error && error.message || error) + ")", "nohost");
  }
  if (!answer || !answer.ok) throw new RpcError(String(answer && answer.error || "no answer"), "nohost");
  return answer;
}

// A call that starts a local drayman through the native host when it is not running,
// and learns the local drayman's secret when the stored one is missing or wrong.
async function rpcCallStarting(method, params) {
  var settings = await loadSettings();
  try {
    return await rpcCall(settings, method, params);
  } catch (error) {
    if (!isLocalHost(settings.host) || (error.code !== "unreachable" && error.code !== "unauthorized")) {
      throw error;
    }
    var answer = await askNativeHost(settings, error.code === "unreachable");
    await saveSettings({ port: answer.port, secret: answer.secret });
    settings.port = answer.port;
    settings.secret = answer.secret;
    return await rpcCall(settings, method, params);
  }
}

// A WebSocket to the RPC: calls answered by id, notifications to onNotice.
class RpcSocket {
  constructor(settings, onNotice, onClose) {
    this.settings = settings;
    this.pending = new Map();
    this.counter = 0;
    this.ws = new WebSocket("ws://" + rpcBase(settings));
    var self = this;
    this.opened = new Promise(function (resolve, reject) {
      self.ws.onopen = resolve;
      self.ws.onerror = function () { reject(new RpcError("drayman is not reachable at " + rpcBase(settings), "unreachable")); };
    });
    this.ws.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (error) { return; }
      if (data.method && onNotice) { onNotice(data.method, data.params); return; }
      var waiter = self.pending.get(data.id);
      if (!waiter) return;
      self.pending.delete(data.id);
      if (data.error) waiter.reject(new RpcError(String(data.error.message), "failed"));
      else waiter.resolve(data.result);
    };
    this.ws.onclose = function () {
      self.pending.forEach(function (w) { w.reject(new RpcError("the connection to drayman closed", "closed")); });
      self.pending.clear();
      if (onClose) onClose();
    };
  }

  async call(method, params) {
    await this.opened;
    var id = "ws-" + ++this.counter;
    var self = this;
    var promise = new Promise(function (resolve, reject) { self.pending.set(id, { resolve: resolve, reject: reject }); });
    this.ws.send(JSON.stringify({ jsonrpc: "2.0", id: id, method: method,
      params: ["token:" + (this.settings.secret || "")].concat(params || []) }));
    return promise;
  }

  close() { this.ws.close(); }
}
