// gridmap's service worker (issue #19 part 4): a grid leader's pages keep working with the network off.
// Network first; a response is kept on the device only when the server marked it (X-Gridmap-Offline: keep —
// answered to a grid leader, within their scope) or it is one of the app's own static files; with the network
// off the kept copy answers. Sign-out empties the caches (Clear-Site-Data and the page's script).
"use strict";
var CACHE = "gridmap-leader-v1";
var NEVER = ["/sw.js", "/logout", "/login", "/api/offline/scope"];
var cleared = false;  // after sign-out this worker keeps nothing more (it is unregistered, and ends with the page)

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function isStatic(url) {
  return url.pathname.indexOf("/static/") === 0 || url.pathname.indexOf("/vendor/") === 0;
}

function keepable(url, resp) {
  if (!resp || !resp.ok || resp.type !== "basic") return false;
  return isStatic(url) || resp.headers.get("X-Gridmap-Offline") === "keep";
}

function offlinePage() {
  var html = '<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<title>离线 · offline</title><p>网络已断开，此页未离线保存。/ You are offline and this page was not kept.</p>' +
    '<p><a href="/complaints">我的待办 / My to-do list</a></p>';
  return new Response(html, {status: 503, headers: {"Content-Type": "text/html; charset=utf-8"}});
}

self.addEventListener("fetch", function (event) {
  var req = event.request;
  if (req.method !== "GET") return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin || NEVER.indexOf(url.pathname) >= 0) return;
  event.respondWith(fetch(req).then(function (resp) {
    if (!cleared && keepable(url, resp)) {
      var copy = resp.clone();
      // opening makes the cache again if sign-out emptied the caches meanwhile: then it is dropped again
      event.waitUntil(caches.open(CACHE).then(function (c) { return cleared ? caches.delete(CACHE) : c.put(req, copy); }));
    }
    return resp;
  }, function (err) {
    return caches.match(req, {cacheName: CACHE, ignoreVary: true}).then(function (hit) {   // (match makes no cache)
      if (hit) return hit;
      // a map layer asked for another box or zoom than the kept one: the kept answer over the leader's grids
      if (url.pathname.indexOf("/api/layers/") === 0) {
        return caches.match(req, {cacheName: CACHE, ignoreVary: true, ignoreSearch: true}).then(function (kept) {
          if (kept) return kept;
          throw err;
        });
      }
      if (req.mode === "navigate") return offlinePage();
      throw err;
    });
  }));
});

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "clear") {  // sign-out: nothing of the leader's scope stays
    cleared = true;
    event.waitUntil(caches.keys().then(function (names) {
      return Promise.all(names.map(function (n) { return caches.delete(n); }));
    }));
  }
});
