// A grid leader's pages offline (issue #19 part 4): registers the service worker, keeps the pages of the
// leader's scope after sign-in, queues moves made without network (IndexedDB, shown as 待同步), sends them when
// the network returns — each once (an Idempotency-Key) and only on the state they were based on (If-Match: the
// request's version) — and shows a request changed meanwhile as a conflict to retry on the fresh state or drop.
// Sign-out sends what waits (online) or asks before dropping it, then empties the caches, the queue and the worker. Text goes into the page through textContent only.
(function () {
  "use strict";
  var textNode = document.getElementById("gm-offline-text");
  if (!textNode || !("indexedDB" in window)) return;
  var T = textNode.dataset;
  var DB = "gridmap-offline", STORE = "queue", CACHE = "gridmap-leader-v1";
  var syncing = false;

  function open() {
    return new Promise(function (ok, bad) {
      var r = indexedDB.open(DB, 1);
      r.onupgradeneeded = function () { r.result.createObjectStore(STORE, {keyPath: "key"}); };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { bad(r.error); };
    });
  }
  function tx(mode, fn) {
    return open().then(function (db) {
      return new Promise(function (ok, bad) {
        var t = db.transaction(STORE, mode), req = fn(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); ok(req ? req.result : undefined); };
        t.onerror = function () { db.close(); bad(t.error); };
      });
    });
  }
  function all() { return tx("readonly", function (s) { return s.getAll(); }); }
  function put(item) { return tx("readwrite", function (s) { return s.put(item); }); }
  function drop(key) { return tx("readwrite", function (s) { return s.delete(key); }); }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "k-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  }

  // -- what the page shows ----------------------------------------------------------------------------
  function bar() {
    var b = document.getElementById("gm-offline-bar");
    if (!b) {
      b = el("p", "gm-offline-bar");
      b.id = "gm-offline-bar";
      b.setAttribute("role", "status");
      var main = document.querySelector("main") || document.body;
      main.insertBefore(b, main.firstChild);
    }
    return b;
  }
  function render() {
    return all().then(function (items) {
      Array.prototype.forEach.call(document.querySelectorAll(".gm-queued"), function (n) { n.remove(); });
      Array.prototype.forEach.call(document.querySelectorAll(".gm-actions[data-id]"), function (box) {
        box.classList.remove("gm-has-queued");
      });
      var waiting = items.filter(function (i) { return i.status === "queued"; }).length;
      var b = bar();
      b.textContent = !navigator.onLine ? T.offline + (waiting ? " · " + T.waiting.replace("{n}", waiting) : "")
        : (waiting ? T.waiting.replace("{n}", waiting) : "");
      b.hidden = !b.textContent;
      items.forEach(function (item) {
        var box = document.querySelector('.gm-actions[data-id="' + CSS.escape(item.cid) + '"]');
        if (!box) return;
        box.classList.add("gm-has-queued");
        box.parentNode.insertBefore(card(item), box.nextSibling);
      });
    });
  }
  function card(item) {
    var c = el("div", "gm-queued gm-queued-" + item.status);
    c.dataset.key = item.key;
    c.dataset.status = item.status;
    if (item.status === "queued") {
      c.appendChild(el("p", "gm-pending", T.pending + "：" + item.label));
      c.appendChild(button("gm-drop", T.drop, function () { drop(item.key).then(render); }));
      return c;
    }
    if (item.status === "conflict") {
      var cur = item.current || {};
      c.appendChild(el("p", "gm-conflict-title", T.conflict));
      c.appendChild(el("p", "gm-conflict-mine", T.mine + "：" + item.label + "（" + T.basedOn + " " + (item.seen || "") + "）"));
      c.appendChild(el("p", "gm-conflict-now", T.now + "：" + (T.lang === "en" ? cur.state_en : cur.state_zh) +
        (cur.updated_at ? " · " + new Date(cur.updated_at).toLocaleString(T.lang === "en" ? "en" : "zh-CN") : "")));
      c.appendChild(button("gm-retry", T.retry, function () {
        put(Object.assign({}, item, {status: "queued", key: newKey(), version: cur.version, seen: T.lang === "en" ? cur.state_en : cur.state_zh}))
          .then(function () { return drop(item.key); }).then(render).then(sync);
      }));
      c.appendChild(button("gm-drop", T.drop, function () { drop(item.key).then(render); }));
      return c;
    }
    c.appendChild(el("p", "gm-failed", T.failed + "：" + item.label + " — " + (item.message || "")));
    c.appendChild(button("gm-drop", T.drop, function () { drop(item.key).then(render); }));
    return c;
  }
  function button(cls, label, onTap) {
    var b = el("button", cls, label);
    b.type = "button";
    b.addEventListener("click", onTap);
    return b;
  }

  // -- the queue ----------------------------------------------------------------------------------------
  function queue(cid, body, version, label, seen) {
    var item = {key: newKey(), cid: String(cid), body: body, version: version, label: label, seen: seen,
                status: "queued", at: new Date().toISOString()};
    return put(item).then(render).then(function () { return item; });
  }
  function send(item, csrf) {
    var headers = {"Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": item.key};
    if (item.version != null && item.version !== "") headers["If-Match"] = '"' + item.version + '"';
    if (csrf) headers["X-CSRFToken"] = csrf;
    return fetch("/api/complaints/" + encodeURIComponent(item.cid) + "/transitions",
                 {method: "POST", headers: headers, body: JSON.stringify(item.body), credentials: "same-origin"})
      .then(function (r) {
        if (r.ok) return drop(item.key).then(function () { return true; });
        return r.json().catch(function () { return {}; }).then(function (j) {
          var e = j.error || {};
          if (r.status === 409 && e.detail && e.detail.current) {
            return put(Object.assign({}, item, {status: "conflict", current: e.detail.current})).then(function () { return false; });
          }
          return put(Object.assign({}, item, {status: "failed", message: e.message || String(r.status)})).then(function () { return false; });
        });
      });
  }
  // send every queued move in order (a fresh CSRF token first, which also proves the network is back);
  // resolves to whether any was applied. One round at a time: a second caller shares the round in flight.
  var sending = null;
  function sendQueue() {
    if (sending) return sending;
    if (!navigator.onLine) return Promise.resolve(false);
    sending = all().then(function (items) {
      var todo = items.filter(function (i) { return i.status === "queued"; });
      if (!todo.length) return false;
      return fetch("/api/offline/scope", {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(function (scope) {
          var applied = false;
          return todo.reduce(function (p, item) {
            return p.then(function () { return send(item, scope.csrf).then(function (ok) { applied = applied || ok; }); });
          }, Promise.resolve()).then(function () { return applied; });
        });
    }).catch(function () { return false; }).then(function (applied) {
      sending = null;
      document.documentElement.dataset.offlineSynced = String(Date.now());
      return applied;
    });
    return sending;
  }
  function sync() {
    if (syncing || !navigator.onLine) return Promise.resolve();
    syncing = true;
    return sendQueue().then(function (applied) {
      syncing = false;
      if (applied) { window.location.reload(); return; }
      return render();
    });
  }
  function unsent() {
    return all().then(function (items) { return items.filter(function (i) { return i.status === "queued"; }).length; },
                      function () { return 0; });
  }
  // before signing out: send what waits if the network is there; if moves are still unsent, ask — signing out
  // deletes the queue with everything else on the device
  function mayLeave() {
    return unsent().then(function (n) {
      if (!n) return true;
      return sendQueue().then(unsent).then(function (left) {
        if (!left) return true;
        render();
        return window.confirm(T.unsent.replace("{n}", left));
      });
    });
  }

  // -- keeping the leader's pages -----------------------------------------------------------------------
  var KEPT_AT = "gridmap-offline-kept-at", EVERY = 10 * 60 * 1000;  // the scope is fetched again at most every 10 min
  var leaving = false, keeping = Promise.resolve();
  function keep() {
    var last = Number(sessionStorage.getItem(KEPT_AT) || 0);
    if (leaving || !navigator.onLine || !window.caches || Date.now() - last < EVERY) return Promise.resolve();
    keeping = fetchScope();
    return keeping;
  }
  function fetchScope() {
    return fetch("/api/offline/scope", {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (scope) {
        if (!scope || leaving) return;   // signing out: opening would make the cache again
        return caches.open(CACHE).then(function (cache) {
          var urls = scope.pages.concat(scope["static"], scope.data || []);
          function one(u) {
            return fetch(u, {credentials: "same-origin"}).then(function (r) {
              if (leaving) return;
              if (r.ok && (/^\/(static|vendor|tiles)\//.test(u) || r.headers.get("X-Gridmap-Offline") === "keep")) return cache.put(u, r);
            }).catch(function () {});
          }
          // a few at a time: the page the leader is on keeps the network and the server for its own requests
          var next = 0;
          function worker() { return next < urls.length && !leaving ? one(urls[next++]).then(worker) : null; }
          return Promise.all([worker(), worker(), worker()]).then(function () {
            if (!leaving) sessionStorage.setItem(KEPT_AT, String(Date.now()));
            document.documentElement.dataset.offlineKept = String(urls.length);
          });
        });
      }).catch(function () {});
  }

  // -- sign-out: nothing stays on the device ------------------------------------------------------------
  function forget() {
    leaving = true;
    sessionStorage.removeItem(KEPT_AT);
    return keeping.catch(function () {}).then(clearAll);  // let a keeping round in flight end first
  }
  function clearAll() {
    // the worker first (told to keep nothing more, then unregistered), then the caches and the queue
    var workers = navigator.serviceWorker ? navigator.serviceWorker.getRegistrations().then(function (regs) {
      return Promise.all(regs.map(function (reg) {
        if (reg.active) reg.active.postMessage({type: "clear"});
        return reg.unregister();
      }));
    }) : Promise.resolve();
    return workers.catch(function () {}).then(function () {
      var jobs = [new Promise(function (ok) {
        var r = indexedDB.deleteDatabase(DB);
        r.onsuccess = r.onerror = r.onblocked = function () { ok(); };
      })];
      if (window.caches) jobs.push(caches.keys().then(function (n) { return Promise.all(n.map(function (k) { return caches.delete(k); })); }));
      return Promise.all(jobs);
    }).catch(function () {});
  }

  Array.prototype.forEach.call(document.querySelectorAll("form.account"), function (form) {
    form.addEventListener("submit", function (ev) {
      if (form.dataset.cleared) return;
      ev.preventDefault();
      if (form.dataset.leaving) return;  // a second tap while the first is still asking or sending
      form.dataset.leaving = "1";
      mayLeave().then(function (go) {
        if (!go) { delete form.dataset.leaving; return; }
        forget().then(function () { form.dataset.cleared = "1"; form.submit(); });
      });
    });
  });

  window.gridmapOffline = {queue: queue, sync: sync, render: render};
  window.addEventListener("online", function () { sync(); });
  window.addEventListener("offline", function () { render(); });
  setInterval(sync, 30000);
  var ready = navigator.serviceWorker
    ? navigator.serviceWorker.register("/sw.js", {scope: "/"}).then(function () { return navigator.serviceWorker.ready; })
    : Promise.resolve();
  ready.then(keep, keep).then(function () {
    document.documentElement.dataset.offlineReady = "1";
  });
  render().then(sync);
})();
