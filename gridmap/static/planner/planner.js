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
  // colours for the grid colouring (neighbouring grids never share an index; computed on the server)
  var PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#edc948", "#76b7b2", "#ff9da7",
                 "#9c755f", "#bab0ac"];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function initDraft(root) {
    var T = JSON.parse(document.getElementById("planner-text").textContent);
    var api = root.dataset.api;
    var state = { plan: null, grids: {}, colours: {}, buildings: null, selected: new Set(), changed: new Set(),
                  layers: {}, polygons: null, community: root.dataset.community || null, locked: [],
                  active: null, mode: "select", painting: null };
    // boxZoom off: Shift-drag is the lasso, never a zoom
    var map = L.map("map", { preferCanvas: false, boxZoom: false });
    var buildingLayer = L.layerGroup().addTo(map);
    var gridLayer = L.layerGroup().addTo(map);
    var labelLayer = L.layerGroup().addTo(map);
    var changedLayer = L.layerGroup().addTo(map);
    root.map = map;

    function colour(code) {
      var i = state.colours[code];
      return PALETTE[(i === undefined ? 0 : i) % PALETTE.length];
    }
    function shortCode(code) { return code ? code.slice(-3) : ""; }

    function styleOf(f) {
      var id = f.properties.id;
      var sel = state.selected.has(id), ch = state.changed.has(id);
      var painted = state.painting && state.painting.has(id);
      var fill = painted ? colour(state.active) : colour(f.properties.grid);
      return { color: sel ? "#000" : (ch ? "#d00000" : "#555"), weight: sel ? 3 : (ch ? 3 : 0.6),
               fillColor: fill, fillOpacity: sel || painted ? 0.95 : 0.75 };
    }

    function drawBuildings() {
      buildingLayer.clearLayers();
      state.layers = {};
      L.geoJSON(state.buildings, {
        style: styleOf,
        onEachFeature: function (f, layer) {
          state.layers[f.properties.id] = layer;
          layer.on("click", function (ev) {
            L.DomEvent.stopPropagation(ev);
            if (state.mode === "paint") { return; }   // painting is handled on mousedown
            if (lassoEnded) { return; }               // the release of a lasso that closed on a building
            toggle(f.properties.id);
          });
          layer.on("mousedown", function (ev) {
            if (state.mode !== "paint" || ev.originalEvent.shiftKey) { return; }
            L.DomEvent.stop(ev);
            startPaint(f.properties.id);
          });
          layer.on("mouseover", function () {
            if (state.painting) { paintOver(f.properties.id); }
          });
          layer.bindTooltip(function () {
            return document.createTextNode(f.properties.name + " · " + f.properties.households + " " +
                                           T.households + " · " + T.grid + " " + shortCode(f.properties.grid));
          });
        }
      }).eachLayer(function (l) {
        // the path exists once the map has a view: tag it with the building id then
        l.on("add", function () {
          l.getElement().setAttribute("data-building", l.feature.properties.id);
          l.getElement().setAttribute("data-grid", l.feature.properties.grid || "");
        });
        buildingLayer.addLayer(l);
      });
      // the map's buildings as data (for scripts and tests), not element ids
      root.dataset.buildings = String(state.buildings.features.length);
    }

    function drawGrids() {
      gridLayer.clearLayers();
      labelLayer.clearLayers();
      L.geoJSON(state.polygons, {
        interactive: false,
        style: function (f) {
          var active = f.properties.code === state.active;
          // the grid's area washed in its colour, so the colouring shows at community zoom too
          return { color: active ? "#111" : "#333", weight: active ? 4 : 2, fill: true,
                   fillColor: colour(f.properties.code), fillOpacity: active ? 0.35 : 0.22,
                   dashArray: active ? null : "6 3" };
        }
      }).eachLayer(function (l) { gridLayer.addLayer(l); });
      state.polygons.features.forEach(function (f) {
        var p = f.properties;
        if (p.lx === null || p.ly === null || p.lx === undefined) { return; }
        var icon = L.divIcon({ className: "grid-label" + (p.code === state.active ? " active" : ""),
                               html: "<span></span>", iconSize: null });
        var m = L.marker([p.ly, p.lx], { icon: icon, interactive: false, keyboard: false });
        m.on("add", function () {
          var span = m.getElement().firstChild;
          span.textContent = p.short;                     // text, never HTML
          span.style.borderColor = colour(p.code);
          m.getElement().setAttribute("data-grid", p.code);
        });
        labelLayer.addLayer(m);
      });
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

    function bar(g) {
      // households against [min, max]: the scale runs to 1.25 × max; marks at min and max
      var top = Math.max(g.max * 1.25, g.households, 1);
      var box = el("div", "hh-bar");
      var fill = el("span", "fill " + (g.households > g.max ? "over" : (g.households < g.min ? "under" : "ok")));
      fill.style.width = (100 * g.households / top).toFixed(1) + "%";
      var lo = el("span", "mark"), hi = el("span", "mark");
      lo.style.left = (100 * g.min / top).toFixed(1) + "%";
      hi.style.left = (100 * g.max / top).toFixed(1) + "%";
      box.appendChild(fill); box.appendChild(lo); box.appendChild(hi);
      box.title = g.min + "–" + g.max;
      box.setAttribute("role", "meter");
      box.setAttribute("aria-valuenow", String(g.households));
      box.setAttribute("aria-valuemin", "0");
      box.setAttribute("aria-valuemax", String(Math.round(top)));
      return box;
    }

    function drawTable() {
      var body = document.querySelector("#grids tbody");
      body.textContent = "";
      var target = document.getElementById("target");
      var keep = target.value;
      target.textContent = "";
      Object.keys(state.grids).sort().forEach(function (code) {
        var g = state.grids[code];
        var tr = el("tr");
        tr.id = "grid-" + code;
        tr.dataset.grid = code;
        tr.tabIndex = 0;
        var cls = [];
        if (!g.ok) { cls.push("bad"); }
        if (state.locked.indexOf(code) >= 0) { cls.push("locked"); }
        if (code === state.active) { cls.push("active"); }
        tr.className = cls.join(" ");
        var tdCode = el("td", "code");
        var sw = el("span", "swatch", shortCode(code));
        sw.style.background = colour(code);
        tdCode.appendChild(sw);
        tdCode.appendChild(el("span", "full", code));
        if (state.locked.indexOf(code) >= 0) { tdCode.appendChild(el("span", "lock-mark", "🔒 " + T.locked)); }
        var tdBar = el("td", "load");
        tdBar.appendChild(bar(g));
        tdBar.appendChild(el("span", "bounds", g.min + "–" + g.max));
        tr.appendChild(tdCode);
        tr.appendChild(el("td", "households", g.households));
        tr.appendChild(tdBar);
        tr.appendChild(el("td", "buildings", g.buildings));
        tr.appendChild(el("td", "checks", g.problems.length ?
          g.problems.map(function (p) { return T.problems[p] || p; }).join(T.sep || ", ") : T.ok));
        tr.addEventListener("click", function () { activate(code, true); });
        tr.addEventListener("keydown", function (e) { if (e.key === "Enter") { activate(code, true); } });
        body.appendChild(tr);
        var opt = el("option", null, shortCode(code) + " · " + code + " (" + g.households + " " + T.households + ")");
        opt.value = code;
        target.appendChild(opt);
      });
      if (state.active && state.grids[state.active]) { target.value = state.active; }
      else if (keep && state.grids[keep]) { target.value = keep; }
    }

    function polygonOf(code) {
      var f = (state.polygons.features || []).filter(function (x) { return x.properties.code === code; })[0];
      return f && f.geometry ? L.geoJSON(f) : null;
    }

    function activate(code, zoom) {
      state.active = code;
      root.dataset.active = code;
      document.getElementById("active-grid").textContent = shortCode(code) + " · " + code;
      document.getElementById("target").value = code;
      document.querySelectorAll("#grids tbody tr").forEach(function (tr) {
        tr.classList.toggle("active", tr.dataset.grid === code);
      });
      drawGrids();
      if (zoom) { zoomToGrid(code); }
    }

    // the zoom below which buildings are a few pixels and cannot be clicked or tapped
    var PICK_ZOOM = 16;
    function zoomToGrid(code) {
      // fit the grid's buildings, not its polygon (in a sparse community the polygon holds fields and hills)
      var feats = ((state.buildings && state.buildings.features) || []).filter(function (f) {
        return f.properties.grid === code;
      });
      var poly = polygonOf(code);
      var bounds = feats.length ? L.geoJSON({ type: "FeatureCollection", features: feats }).getBounds() :
        (poly ? poly.getBounds() : null);
      if (!bounds || !bounds.isValid()) { return; }
      if (Math.min(map.getBoundsZoom(bounds, false, L.point(80, 80)), 18) >= PICK_ZOOM || !feats.length) {
        map.fitBounds(bounds, { padding: [40, 40], maxZoom: 18 });
        return;
      }
      // too spread out to fit at a zoom where buildings can be picked: the building nearest the middle
      var mid = bounds.getCenter(), best = mid, near = Infinity;
      feats.forEach(function (f) {
        var c = L.geoJSON(f).getBounds().getCenter(), d = mid.distanceTo(c);
        if (d < near) { near = d; best = c; }
      });
      map.setView(best, PICK_ZOOM);
    }

    function fitCommunity() {
      if (state.buildings && state.buildings.features.length) {
        map.fitBounds(L.geoJSON(state.buildings).getBounds(), { padding: [20, 20] });
      }
    }

    function load(fit) {
      var url = api + (state.community ? "?community=" + encodeURIComponent(state.community) : "");
      return call("GET", url).then(function (data) {
        state.plan = data.plan;
        state.community = data.community;
        state.grids = data.grids;
        state.colours = data.colours || {};
        state.buildings = data.buildings;
        state.polygons = data.polygons;
        state.locked = data.draft.locked || [];
        if (state.active && !state.grids[state.active]) { state.active = null; }
        root.dataset.plan = data.plan;
        root.dataset.community = data.community || "";
        document.getElementById("community").value = data.community || "";
        document.getElementById("undo").disabled = !data.draft.can_undo;
        document.getElementById("redo").disabled = !data.draft.can_redo;
        drawBuildings();
        drawGrids();
        drawTable();
        if (state.active) { activate(state.active, false); }
        drawChanged();
        if (fit) { fitCommunity(); }
        root.dataset.loaded = String(Number(root.dataset.loaded || 0) + 1);
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

    // ---- paint: press on a building and drag over others; on release they join the active grid --------
    function startPaint(id) {
      if (!state.active) { say(T.paint_first, true); return; }
      map.dragging.disable();
      state.painting = new Set();
      paintOver(id);
    }
    function paintOver(id) {
      var layer = state.layers[id];
      if (!layer || state.painting.has(id)) { return; }
      if (layer.feature.properties.grid === state.active) { return; }
      state.painting.add(id);
      restyle(id);
    }
    function endPaint() {
      if (!state.painting) { return; }
      var ids = Array.from(state.painting);
      state.painting = null;
      map.dragging.enable();
      if (!ids.length) { return; }
      act("move", { buildings: ids, to_grid: state.active }).then(function (res) {
        say(T.moved + " " + res.moves.length + " → " + shortCode(state.active));
      }).catch(function () { ids.forEach(restyle); });
    }
    document.addEventListener("mouseup", endPaint);

    document.querySelectorAll('#modes input[name="mode"]').forEach(function (r) {
      r.addEventListener("change", function () {
        state.mode = r.value;
        root.dataset.mode = r.value;
        document.getElementById("map").classList.toggle("painting", r.value === "paint");
        document.getElementById("map").classList.toggle("lassoing", r.value === "lasso");
        if (r.value === "paint" && !state.active) { say(T.paint_first, true); }
      });
    });

    document.getElementById("move").addEventListener("click", function () {
      var ids = Array.from(state.selected);
      var to = document.getElementById("target").value;
      if (!ids.length) { say(T.nothing, true); return; }
      if (!to) { say(T.choose, true); return; }
      act("move", { buildings: ids, to_grid: to }).then(function (res) {
        say(T.moved + " " + res.moves.length);
      }).catch(function () {});
    });
    document.getElementById("target").addEventListener("change", function (ev) { activate(ev.target.value, false); });
    document.getElementById("clear").addEventListener("click", clearSelection);
    function stepDone(prefix) {
      // the status line says what undo/redo did, not what the last move did
      return function (res) {
        var step = res.step || {};
        say(prefix + ((T.actions || {})[step.action] || step.action || "") +
            (step.buildings ? " · " + step.buildings + " " + T.bld_unit : ""));
      };
    }
    document.getElementById("undo").addEventListener("click", function () {
      act("undo").then(stepDone(T.undid)).catch(function () {});
    });
    document.getElementById("redo").addEventListener("click", function () {
      act("redo").then(stepDone(T.redid)).catch(function () {});
    });
    document.getElementById("rebalance").addEventListener("click", function () {
      var all = document.getElementById("rebalance-all").checked;
      act("rebalance", { community: all ? "all" : state.community }).then(function (res) {
        var r = res.rebalance;
        say(T.moved + " " + r.buildings_moved + " / " + r.households_moved + " " + T.households +
            (r.infeasible.length ? " · " + T.infeasible + " " + r.infeasible.length : " · " + T.all_fixed));
        var list = document.getElementById("rebalance-report");
        list.textContent = "";
        r.infeasible.forEach(function (i) {
          var li = el("li", null, T.cannot_fix + " " + shortCode(i.grid) + " (" + i.grid + "): " + i.households + " " +
                      T.households + ", " + T.range + " " + i.min + "–" + i.max + " — " + (T.reasons[i.reason] || i.reason));
          li.dataset.grid = i.grid;
          li.dataset.reason = i.reason;
          list.appendChild(li);
        });
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

    // ---- diff: in the UI's words; changed buildings outlined and marked so they show at any zoom ------
    function drawChanged() {
      changedLayer.clearLayers();
      state.changed.forEach(function (id) {
        var layer = state.layers[id];
        if (!layer) { return; }
        var p = layer.feature.properties;
        changedLayer.addLayer(L.circleMarker([p.cy, p.cx], { radius: 7, color: "#d00000", weight: 3, fill: false,
                                                             interactive: false, className: "changed-mark" }));
      });
    }
    function showDiff(d, box, table) {
      box.textContent = "";
      var dl = el("dl", "diff-summary");
      Object.keys(d.summary).forEach(function (k) {
        dl.appendChild(el("dt", null, T.diff[k] || k));
        var dd = el("dd", null, d.summary[k]);
        dd.dataset.key = k;
        dl.appendChild(dd);
      });
      box.appendChild(dl);
      if (!d.summary.buildings) { box.appendChild(el("p", "ok", T.no_changes)); }
      if (!table) { return; }
      var body = table.querySelector("tbody");
      body.textContent = "";
      d.grids.filter(function (g) { return g.status !== "unchanged"; }).forEach(function (g) {
        var tr = el("tr");
        tr.dataset.grid = g.code;
        tr.appendChild(el("td", null, shortCode(g.code) + " · " + g.code));
        tr.appendChild(el("td", null, T.status[g.status] || g.status));
        tr.appendChild(el("td", null, g.buildings_before + " → " + g.buildings_after));
        tr.appendChild(el("td", null, g.households_before + " → " + g.households_after));
        body.appendChild(tr);
      });
      table.hidden = !body.childNodes.length;
    }
    document.getElementById("diff").addEventListener("click", function () {
      // against the plan in force now (the button's words), not the draft's base, which may since be replaced
      var url = root.dataset.diff + "?old=" + encodeURIComponent(root.dataset.inForce || root.dataset.base) + "&new=" +
        encodeURIComponent(state.plan);
      call("GET", url).then(function (d) {
        state.changed = new Set(d.buildings.map(function (b) { return b.building_id; }));
        Object.keys(state.layers).forEach(restyle);
        drawChanged();
        showDiff(d, document.getElementById("diff-summary"), document.getElementById("diff-grids"));
        root.dataset.changed = String(state.changed.size);
      }).catch(function (e) { say(e.message, true); });
    });
    document.getElementById("community").addEventListener("change", function (ev) {
      state.community = ev.target.value;
      state.active = null;
      document.getElementById("active-grid").textContent = "—";
      clearSelection();
      load(true);
    });

    // ---- publish: review (checks, grid leaders, diff), confirm, a written reason over hard failures ----
    var dialog = document.getElementById("publish-dialog");
    var review = null;
    function section(title, items, cls) {
      var s = el("section", cls);
      s.appendChild(el("h3", null, title + " (" + items.length + ")"));
      var ul = el("ul");
      if (!items.length) { ul.appendChild(el("li", "none", T.none)); }
      items.forEach(function (t) { ul.appendChild(el("li", null, t)); });
      s.appendChild(ul);
      return s;
    }
    document.getElementById("publish-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      call("GET", root.dataset.review).then(function (r) {
        review = r;
        document.getElementById("publish-dialog-message").textContent = "";
        var body = document.getElementById("review-body");
        body.textContent = "";
        if (r.stale) { body.appendChild(el("p", "stale-warning", T.stale)); }
        body.appendChild(section(T.hard, r.hard.map(function (h) { return h.message; }), "hard"));
        body.appendChild(section(T.failing, Object.keys(r.failing).sort().map(function (code) {
          var g = r.failing[code];
          return shortCode(code) + " · " + code + ": " + g.problems.map(function (p) { return T.problems[p] || p; })
            .join(T.sep) + " (" + g.households + " " + T.households + ", " + g.min + "–" + g.max + ")";
        }), "failing"));
        body.appendChild(section(T.no_leader, r.no_grid_leader.map(function (c) { return shortCode(c) + " · " + c; }),
                                 "no-leader"));
        var diffBox = el("section", "diff");
        diffBox.appendChild(el("h3", null, T.changed));
        body.appendChild(diffBox);
        showDiff(r.diff, diffBox, null);
        var hard = r.hard.length > 0;
        document.getElementById("reason-box").hidden = !hard;
        document.getElementById("override-reason").required = hard;
        document.getElementById("confirm-publish").textContent = hard ? T.publish_anyway : T.publish;
        dialog.dataset.hard = String(r.hard.length);
        if (dialog.showModal) { dialog.showModal(); } else { dialog.setAttribute("open", ""); }
      }).catch(function (e) { say(e.message, true); });
    });
    document.getElementById("cancel-publish").addEventListener("click", function () { dialog.close(); });
    document.getElementById("confirm-publish").addEventListener("click", function () {
      var reason = document.getElementById("override-reason").value.trim();
      var dialogMessage = document.getElementById("publish-dialog-message");
      dialogMessage.textContent = "";
      if (review && review.hard.length && !reason) {
        dialogMessage.textContent = T.reason_needed;   // in the dialog: the page behind it is covered
        document.getElementById("override-reason").focus();
        return;
      }
      var body = { effective_date: document.getElementById("effective").value };
      if (reason) { body.override_reason = reason; }
      call("POST", api + "/publish", body).then(function (res) {
        dialog.close();
        say(T.published + " " + res.plan + " (" + res.effective_date + ")");
        root.dataset.published = res.plan;
        document.querySelectorAll("#panel button").forEach(function (b) { b.disabled = true; });
      }).catch(function (e) { dialog.close(); say(e.message, true); });
    });

    // ---- lasso: Shift-drag (any mode) or plain drag in lasso mode; open or closed, it never zooms -----
    var lasso = null, line = null, lassoEnded = false;
    map.on("mousedown", function (ev) {
      if (!(ev.originalEvent.shiftKey || state.mode === "lasso")) { return; }
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
      lassoEnded = true;
      setTimeout(function () { lassoEnded = false; }, 0);
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

    // "fit community": back to the whole community from any zoom
    var Fit = L.Control.extend({ options: { position: "topleft" }, onAdd: function () {
      var box = L.DomUtil.create("div", "leaflet-bar fit-community");
      var a = L.DomUtil.create("a", "", box);
      a.href = "#"; a.title = T.fit; a.setAttribute("role", "button"); a.setAttribute("aria-label", T.fit);
      a.textContent = "⤢";
      L.DomEvent.on(a, "click", function (e) { L.DomEvent.stop(e); fitCommunity(); });
      L.DomEvent.disableClickPropagation(box);
      return box;
    } });
    new Fit().addTo(map);

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
