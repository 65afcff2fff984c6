/* The embed tokens page: issue a token (view, area, layers, expiry, host site), show a copy-ready snippet with
   the real token, list and revoke tokens. Data are written with textContent only. */
(function () {
  "use strict";
  var root = document.getElementById("embed-tokens");
  if (!root) { return; }
  var T = JSON.parse(document.getElementById("embed-text").textContent);
  var api = root.dataset.api, app = root.dataset.app;

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }
  function call(method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRFToken": csrf() } };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(url, opts).then(function (r) {
      if (r.status === 204) { return {}; }
      return r.json().then(function (d) {
        if (!r.ok) { throw new Error((d.error && d.error.message) || r.statusText); }
        return d;
      });
    });
  }
  function say(text, bad) {
    var el = document.getElementById("message");
    el.textContent = text;
    el.className = bad ? "bad" : "ok";
  }
  function td(tr, text) { var c = document.createElement("td"); c.textContent = text; tr.appendChild(c); return c; }

  function pathOf(view, area) {
    return view === "grid" ? "/embed/grids/" + area : (view === "community" ? "/embed/communities/" + area :
      "/embed/streets/" + area);
  }

  function snippet(src) {
    return [
      '<iframe src="' + src + '"',
      '        width="100%" height="480" style="border:0" loading="lazy" title="' + T.title + '"></iframe>',
      "<script>",
      'window.addEventListener("message", function (e) {',
      '  if (e.origin !== "' + app + '" || !e.data) return;',
      '  if (e.data.type === "gridmap:select") console.log(e.data.kind, e.data.code, e.data.figures);',
      '  if (e.data.type === "gridmap:error") console.warn(e.data.code, e.data.message);',
      "});",
      "</scr" + "ipt>"
    ].join("\n");
  }

  function list() {
    return call("GET", api).then(function (data) {
      var body = document.querySelector("#tokens tbody");
      body.textContent = "";
      var now = Date.now();
      (data.embeds || []).slice().reverse().forEach(function (t) {
        var tr = document.createElement("tr");
        tr.dataset.token = t.id;
        td(tr, t.id);
        td(tr, t.view);
        td(tr, ((t.scope && t.scope.grids) || []).join(", ") || T.all);
        td(tr, (t.layers || []).join(", ") || T.all);
        td(tr, t.origin || T.none);
        td(tr, t.expires_local || "");  // the service's zone (GRIDMAP_TIMEZONE), formatted by the server
        td(tr, t.created_by || "");
        var expired = t.expires_at && Date.parse(t.expires_at) < now;
        td(tr, t.revoked ? T.revoked : (expired ? T.expired : T.active)).className = "state";
        var cell = td(tr, "");
        if (!t.revoked && !expired) {
          var b = document.createElement("button");
          b.type = "button"; b.className = "revoke"; b.textContent = T.revoke;
          b.addEventListener("click", function () {
            call("DELETE", api + "/" + encodeURIComponent(t.id)).then(list).catch(function (e) { say(e.message, true); });
          });
          cell.appendChild(b);
        }
        body.appendChild(tr);
      });
    }).catch(function (e) { say(e.message, true); });
  }

  document.getElementById("issue").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var view = document.getElementById("view").value;
    var area = document.getElementById("area").value.trim();
    var layers = Array.prototype.slice.call(document.querySelectorAll('input[name="layers"]:checked'))
      .map(function (i) { return i.value; });
    var origin = document.getElementById("origin").value.trim();
    var body = { view: view === "grid" ? "grid" : "map", page: view, grids: [area], layers: layers,
                 hours: Number(document.getElementById("days").value) * 24 };
    if (origin) { body.origin = origin; }
    call("POST", api, body).then(function (t) {
      var src = app + pathOf(view, area) + "?token=" + encodeURIComponent(t.token) +
        (layers.length ? "&layers=" + layers.join(",") : "");
      var box = document.getElementById("snippet-box");
      box.hidden = false;
      box.dataset.src = src;
      box.dataset.token = t.id;
      document.getElementById("snippet").value = snippet(src);
      say(T.issued + " " + t.id);
      return list();
    }).catch(function (e) { say(e.message, true); });
  });
  document.getElementById("copy").addEventListener("click", function () {
    var text = document.getElementById("snippet");
    function done(ok) {
      if (ok) { say(T.copied); return; }
      text.focus();
      text.select();  // refused: the snippet stays selected so it can be copied by hand
      say(T.copyFailed, true);
    }
    text.select();
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text.value).then(function () { done(true); }, function () { done(false); });
    } else {
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      done(ok);
    }
  });
  list();
})();
