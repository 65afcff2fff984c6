/* gridmap planner: select buildings by click or Shift-drag lasso, move them, see the grid figures
   change, undo/redo, rebalance, diff, publish. Data are written with textContent only. */
(function () {
  "use strict";

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  function call(method, url, body) {
    var opts = { method: method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRFToken"] = csrf();
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { throw new Error((data.error && data.error.message) || r.statusText); }
        return data;
      });
    });
  }

  function say(text, bad) {
    var el = document.getElementById("message");
    if (!el) { return; }
    el.textContent = text;
    el.className = bad ? "bad" : "";
  }

  // ---- the plans list ------------------------------------------------------------------------
  function initIndex(root) {
    document.getElementById("start-draft").addEventListener("click", function () {
      call("POST", root.dataset.start, {}).then(function (info) {
        window.location = root.dataset.draftUrl.replace("__ID__", encodeURIComponent(info.draft));
      }).catch(function (e) { say(e.message, true); });
    });
    document.querySelectorAll("button.rollback").forEach(function (btn) {
      btn.addEventListener("click", function () {
        call("POST", btn.dataset.url, { plan: btn.dataset.plan }).then(function () {
          window.location.reload();
        }).catch(function (e) { say(e.message, true); });
      });
    });
  }

  // ---- the draft editor ----------------------------------------------------------------------
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39"];

  function initDraft(root) {
    var T = JSON.parse(document.getElementById("planner-text").textContent);
    var api = root.dataset.api;
    var state = { plan: null, grids: {}, buildings: null, selected: new Set(), changed: new Set(),
                  layers: {}, polygons: null, community: root.dataset.community || null, locked: [] };
    var map = L.map("map", { preferCanvas: false });
    var buildingLayer = L.layerGroup().addTo(map);
    var gridLayer = L.layerGroup().addTo(map);

    function colour(code) {
      var codes = Object.keys(state.grids).sort();
      var i = codes.indexOf(code);
      return PALETTE[(i < 0 ? 0 : i) % PALETTE.length];
    }

    function styleOf(f) {
      var id = f.properties.id;
      var sel = state.selected.has(id), ch = state.changed.has(id);
      return { color: sel ? "#000" : (ch ? "#e00000" : colour(f.properties.grid)),
               weight: sel || ch ? 3 : 1, fillColor: colour(f.properties.grid),
               fillOpacity: sel ? 0.9 : 0.6 };
    }

    function drawBuildings() {
      buildingLayer.clearLayers();
      state.layers = {};
      L.geoJSON(state.buildings, {
        style: styleOf,
        onEachFeature: function (f, layer) {
          state.layers[f.properties.id] = layer;
          layer.on("click", function (ev) {
            toggle(f.properties.id);
            L.DomEvent.stopPropagation(ev);
          });
          layer.bindTooltip(function () {
            return document.createTextNode(f.properties.name + " · " + f.properties.households + " " +
                                           T.households + " · " + f.properties.grid);
          });
        }
      }).eachLayer(function (l) {
        // the path exists once the map has a view: tag it with the building id then
        l.on("add", function () { l.getElement().setAttribute("data-building", l.feature.properties.id); });
        buildingLayer.addLayer(l);
      });
      // the map's buildings as data (for scripts and tests), not element ids
      root.dataset.buildings = String(state.buildings.features.length);
    }

    function drawGrids() {
      gridLayer.clearLayers();
      L.geoJSON(state.polygons, {
        interactive: false,
        style: function (f) { return { color: colour(f.properties.code), weight: 3, fill: false }; }
      }).eachLayer(function (l) { gridLayer.addLayer(l); });
    }

    function restyle(id) {
      var layer = state.layers[id];
      if (layer) { layer.setStyle(styleOf(layer.feature)); }
    }

    function toggle(id) {
      if (state.selected.has(id)) { state.selected.delete(id); } else { state.selected.add(id); }
      restyle(id);
      document.getElementById("selected-count").textContent = String(state.selected.size);
    }

    function clearSelection() {
      var ids = Array.from(state.selected);
      state.selected.clear();
      ids.forEach(restyle);
      document.getElementById("selected-count").textContent = "0";
    }

    function drawTable() {
      var body = document.querySelector("#grids tbody");
      body.textContent = "";
      var target = document.getElementById("target");
      var keep = target.value;
      target.textContent = "";
      Object.keys(state.grids).sort().forEach(function (code) {
        var g = state.grids[code];
        var tr = document.createElement("tr");
        tr.id = "grid-" + code;
        tr.dataset.grid = code;
        if (!g.ok) { tr.className = "bad"; }
        if (state.locked.indexOf(code) >= 0) { tr.className += " locked"; }
        [code, String(g.households), g.min + "–" + g.max, String(g.buildings),
         g.problems.length ? g.problems.map(function (p) { return T.problems[p] || p; }).join(T.sep || ", ") : T.ok
        ].forEach(function (text, i) {
          var td = document.createElement("td");
          td.textContent = text;
          td.className = ["code", "households", "bounds", "buildings", "checks"][i];
          tr.appendChild(td);
        });
        body.appendChild(tr);
        var opt = document.createElement("option");
        opt.value = code;
        opt.textContent = code + " (" + g.households + " " + T.households + ")";
        target.appendChild(opt);
      });
      if (keep && state.grids[keep]) { target.value = keep; }
    }

    function load(fit) {
      var url = api + (state.community ? "?community=" + encodeURIComponent(state.community) : "");
      return call("GET", url).then(function (data) {
        state.plan = data.plan;
        state.community = data.community;
        state.grids = data.grids;
        state.buildings = data.buildings;
        state.polygons = data.polygons;
        state.locked = data.draft.locked || [];
        root.dataset.plan = data.plan;
        document.getElementById("undo").disabled = !data.draft.can_undo;
        document.getElementById("redo").disabled = !data.draft.can_redo;
        drawBuildings();
        drawGrids();
        drawTable();
        if (fit && state.buildings.features.length) {
          map.fitBounds(L.geoJSON(state.buildings).getBounds(), { padding: [20, 20] });
        }
      }).catch(function (e) { say(e.message, true); });
    }

    function applied(res) {
      // the server re-checked only the touched grids: update those rows and polygons
      Object.keys(res.grids).forEach(function (code) { state.grids[code] = res.grids[code]; });
      state.plan = res.plan;
      root.dataset.plan = res.plan;
      root.dataset.checkMs = String(res.check_ms);
      document.getElementById("undo").disabled = !res.draft.can_undo;
      document.getElementById("redo").disabled = !res.draft.can_redo;
      return load(false);
    }

    function act(path, body) {
      return call("POST", api + "/" + path, body || {}).then(function (res) {
        clearSelection();
        return applied(res).then(function () { return res; });
      }).catch(function (e) { say(e.message, true); throw e; });
    }

    document.getElementById("move").addEventListener("click", function () {
      var ids = Array.from(state.selected);
      var to = document.getElementById("target").value;
      if (!ids.length) { say(T.nothing, true); return; }
      if (!to) { say(T.choose, true); return; }
      act("move", { buildings: ids, to_grid: to }).then(function (res) {
        say(T.moved + " " + res.moves.length);
      }).catch(function () {});
    });
    document.getElementById("clear").addEventListener("click", clearSelection);
    document.getElementById("undo").addEventListener("click", function () { act("undo").catch(function () {}); });
    document.getElementById("redo").addEventListener("click", function () { act("redo").catch(function () {}); });
    document.getElementById("rebalance").addEventListener("click", function () {
      act("rebalance", {}).then(function (res) {
        var r = res.rebalance;
        say(T.moved + " " + r.buildings_moved + " / " + r.households_moved + " " + T.households +
            (r.infeasible.length ? " · " + T.infeasible + " " + r.infeasible.length : ""));
      }).catch(function () {});
    });
    document.getElementById("lock").addEventListener("click", function () {
      act("lock", { grids: [document.getElementById("target").value], locked: true }).catch(function () {});
    });
    document.getElementById("unlock").addEventListener("click", function () {
      act("lock", { grids: [document.getElementById("target").value], locked: false }).catch(function () {});
    });
    document.getElementById("split").addEventListener("click", function () {
      var ids = Array.from(state.selected);
      if (!ids.length) { say(T.nothing, true); return; }
      var grid = state.layers[ids[0]].feature.properties.grid;
      act("split", { grid: grid, buildings: ids }).catch(function () {});
    });
    document.getElementById("merge").addEventListener("click", function () {
      var to = document.getElementById("target").value;
      var grids = [to];
      state.selected.forEach(function (id) {
        var g = state.layers[id].feature.properties.grid;
        if (grids.indexOf(g) < 0) { grids.push(g); }
      });
      if (grids.length < 2) { say(T.nothing, true); return; }
      act("merge", { grids: grids }).catch(function () {});
    });
    document.getElementById("diff").addEventListener("click", function () {
      var url = root.dataset.diff + "?old=" + encodeURIComponent(root.dataset.base) + "&new=" +
        encodeURIComponent(state.plan);
      call("GET", url).then(function (d) {
        state.changed = new Set(d.buildings.map(function (b) { return b.building_id; }));
        Object.keys(state.layers).forEach(restyle);
        var box = document.getElementById("diff-summary");
        box.textContent = "";
        Object.keys(d.summary).forEach(function (k) {
          var p = document.createElement("div");
          p.textContent = k + ": " + d.summary[k];
          p.dataset.key = k;
          box.appendChild(p);
        });
        root.dataset.changed = String(state.changed.size);
      }).catch(function (e) { say(e.message, true); });
    });
    document.getElementById("community").addEventListener("change", function (ev) {
      state.community = ev.target.value;
      clearSelection();
      load(true);
    });
    document.getElementById("publish-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      call("POST", api + "/publish", { effective_date: document.getElementById("effective").value })
        .then(function (res) {
          say(T.published + " " + res.plan + " (" + res.effective_date + ")");
          root.dataset.published = res.plan;
          document.querySelectorAll("#panel button").forEach(function (b) { b.disabled = true; });
        }).catch(function (e) { say(e.message, true); });
    });

    // lasso: hold Shift and drag; buildings whose representative point falls inside are selected
    var lasso = null, line = null;
    map.on("mousedown", function (ev) {
      if (!ev.originalEvent.shiftKey) { return; }
      map.dragging.disable();
      lasso = [ev.latlng];
      line = L.polyline(lasso, { color: "#000", dashArray: "4 4", interactive: false }).addTo(map);
    });
    map.on("mousemove", function (ev) {
      if (!lasso) { return; }
      lasso.push(ev.latlng);
      line.setLatLngs(lasso);
    });
    map.on("mouseup", function () {
      if (!lasso) { return; }
      var poly = lasso;
      lasso = null;
      map.removeLayer(line);
      map.dragging.enable();
      if (poly.length < 3) { return; }
      state.buildings.features.forEach(function (f) {
        if (inside(f.properties.cx, f.properties.cy, poly) && !state.selected.has(f.properties.id)) {
          toggle(f.properties.id);
        }
      });
    });

    function inside(x, y, poly) {
      var hit = false;
      for (var i = 0, j = poly.length - 1; i < poly.length; j = i++) {
        var xi = poly[i].lng, yi = poly[i].lat, xj = poly[j].lng, yj = poly[j].lat;
        if (((yi > y) !== (yj > y)) && (x < (xj - xi) * (y - yi) / (yj - yi) + xi)) { hit = !hit; }
      }
      return hit;
    }

    // for tests and scripts: select buildings by id as a click would
    root.selectBuildings = function (ids) { ids.forEach(function (id) { if (!state.selected.has(id)) { toggle(id); } }); };
    load(true);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var index = document.getElementById("planner-index");
    if (index) { initIndex(index); }
    var root = document.getElementById("planner");
    if (root) { initDraft(root); }
  });
})();
