/* gridmap: load map layers from /api/layers/<layer>?bbox=…&zoom=… on every move, draw them, and the
 * map's own controls (search, legend, locate me, status). Below the points zoom, complaints arrive as
 * counts per community or grid and are drawn as sized bubbles; buildings can come from vector tiles
 * (/tiles/buildings/{z}/{x}/{y}.pbf, Leaflet.VectorGrid) between the tile zooms. Text from the data is only ever set with
 * textContent (never innerHTML). No external requests. */
(function () {
  "use strict";
  var gm = window.gridmap = window.gridmap || {};
  gm.sources = [];
  gm.drawn = {};        // layer -> features drawn now (tests read it)
  gm.tiled = {};        // layer -> distinct features in the vector tiles shown now
  gm.aggregate = {};    // layer -> "community" | "grid" when counts are drawn instead of points
  gm.totals = {};       // layer -> features the API counted in the loaded box
  gm.loads = 0;         // finished layer loads
  gm.pending = 0;
  gm.selected = null;

  function strings() {
    if (gm._t) return gm._t;
    var el = document.getElementById("gridmap-i18n");
    gm._t = el ? JSON.parse(el.textContent) : {};
    return gm._t;
  }
  function t(key, fallback) { var s = strings()[key]; return s === undefined ? (fallback || key) : s; }
  gm.t = t;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function row(dl, label, value, cls) {
    var dt = el("dt", null, label), dd = el("dd", cls || null, value);
    dl.appendChild(dt); dl.appendChild(dd);
  }

  // -- styles -----------------------------------------------------------------------------------------
  var LOAD = { under: "#9ecae1", ok: "#74c476", over: "#ef3b2c" };
  function loadColour(p) {
    if (p.households === null || p.households === undefined) return "#cccccc";
    if (p.households < p.min) return LOAD.under;
    if (p.households > p.max) return LOAD.over;
    var x = (p.households - p.min) / Math.max(1, p.max - p.min);   // 0..1 inside the bounds
    var a = [199, 233, 192], b = [35, 139, 69];
    var c = a.map(function (v, i) { return Math.round(v + (b[i] - v) * x); });
    return "rgb(" + c.join(",") + ")";
  }
  gm.loadColour = loadColour;
  // one-character role icons come translated from the page (js_strings "glyph:<role>")
  var ROLE = {
    grid_leader: { colour: "#c0392b" },
    building_leader: { colour: "#d35400" },
    party_central_household: { colour: "#b71c1c" },
    property_steward: { colour: "#1565c0" },
    volunteer: { colour: "#2e7d32" }
  };
  function glyph(key) { return t("glyph:" + key, "?"); }
  gm.glyph = glyph;
  gm.ROLE = ROLE;

  function styleFor(src, feature) {
    var p = feature.properties, focus = src.opts.focus;
    switch (src.opts.layer) {
      case "streets": return { color: "#6a1b9a", weight: 3, fill: false, dashArray: "8 4", interactive: false };
      case "communities": return { color: "#8e24aa", weight: 2, fill: false, dashArray: "4 3", interactive: false };
      case "estates": return { color: "#795548", weight: 1, fillColor: "#d7ccc8", fillOpacity: 0.15, interactive: false };
      case "grids":
        var mine = focus && p.code === focus;
        return { color: mine ? "#c62828" : "#37474f", weight: mine ? 4 : 1.2, fillColor: loadColour(p),
                 fillOpacity: focus ? (mine ? 0.25 : 0.08) : 0.55 };
      case "buildings":
        var own = focus && p.grid_code === focus;
        return { color: own ? "#5d4037" : "#9e9e9e", weight: 1, fillColor: own ? "#ffb74d" : "#e0e0e0",
                 fillOpacity: own ? 0.85 : 0.5 };
    }
    return {};
  }

  function divIcon(glyph, colour, cls) {
    return L.divIcon({ className: "gm-icon " + (cls || ""), iconSize: [22, 22], iconAnchor: [11, 11],
                       html: '<span style="background:' + colour + '">' + glyph + "</span>" });
  }
  var ICONS = {};
  function iconFor(layer, p) {
    var key = layer + ":" + (p.role || (p.overdue ? "overdue" : "") || (p.alliance ? "ally" : ""));
    if (ICONS[key]) return ICONS[key];
    var icon;
    if (layer === "stewards") { var r = ROLE[p.role] || { colour: "#555" }; icon = divIcon(glyph(p.role), r.colour); }
    else if (layer === "merchants") icon = divIcon(glyph("merchant"), p.alliance ? "#ad1457" : "#6d4c41", "gm-square");
    else if (layer === "volunteer_teams") icon = divIcon(glyph("volunteer_team"), "#00897b", "gm-square");
    else if (layer === "complaints") icon = L.divIcon({ className: "gm-dot " + (p.overdue ? "gm-overdue" : "gm-open"), iconSize: [12, 12] });
    else icon = divIcon("•", "#555");
    ICONS[key] = icon;
    return icon;
  }

  // -- popups -----------------------------------------------------------------------------------------
  function statsUrl(src, code) { return src.api + "/grids/" + encodeURIComponent(code) + "/stats"; }

  function gridPopup(src, p) {
    var box = el("div", "gm-popup");
    box.appendChild(el("h3", null, t("网格") + " " + p.code));
    var dl = el("dl");
    row(dl, t("户数"), p.households + " (" + p.min + "–" + p.max + ")", "gm-" + p.status);
    row(dl, t("楼栋"), p.buildings);
    box.appendChild(dl);
    var more = el("dl", "gm-more", null);
    box.appendChild(more);
    fetch(statsUrl(src, p.code)).then(function (r) { return r.ok ? r.json() : null; }).then(function (s) {
      if (!s) return;
      row(more, t("社区"), s.community);
      row(more, t("网格长"), s.stewards.grid_leader);
      row(more, t("楼长"), s.stewards.building_leader);
      row(more, t("党员中心户"), s.stewards.party_central_household);
      row(more, t("待办诉求"), s.complaints_open + (s.complaints_overdue ? " · " + t("超期") + " " + s.complaints_overdue : ""));
    });
    if (src.opts.linkGrids) {
      var a = el("a", "gm-link", t("查看网格") + " →");
      a.href = "/grids/" + encodeURIComponent(p.code);
      box.appendChild(a);
    }
    return box;
  }

  function pointPopup(layer, p) {
    var box = el("div", "gm-popup"), dl = el("dl");
    if (layer === "stewards") {
      box.appendChild(el("h3", null, t("role:" + p.role, p.role)));
      if (p.grid_code) row(dl, t("网格"), p.grid_code);
      if (p.party_member) row(dl, t("党员"), t("是"));
    } else if (layer === "complaints") {
      box.appendChild(el("h3", null, t("诉求") + " " + p.id));
      row(dl, t("类别"), p.category);
      row(dl, t("状态"), t("state:" + p.state, p.state));
      row(dl, t("已等待"), p.days_waiting + " " + t("天"), p.overdue ? "gm-over" : null);
      if (p.overdue) row(dl, t("超期"), t("是"), "gm-over");
      if (p.grid_code) row(dl, t("网格"), p.grid_code);
      var act = el("a", "gm-link", t("查看办理") + " →");   // points reach staff only
      act.href = "/complaints/" + encodeURIComponent(p.id);
      box.appendChild(dl); box.appendChild(act);
      return box;
    } else if (layer === "merchants") {
      box.appendChild(el("h3", null, p.name));
      row(dl, t("类别"), p.category || "—");
      if (p.alliance) row(dl, t("商户联盟"), t("是"));
    } else if (layer === "volunteer_teams") {
      box.appendChild(el("h3", null, p.name));
      row(dl, t("服务"), p.service || "—");
      row(dl, t("队员"), p.members === null ? "—" : p.members);
    }
    box.appendChild(dl);
    return box;
  }

  function resident() { return !!(gm.options && gm.options.resident); }

  function buildingPopup(p) {
    var box = el("div", "gm-popup"), dl = el("dl");
    box.appendChild(el("h3", null, t("楼栋") + " " + (p.name || p.id)));
    row(dl, t("户数"), p.households);
    if (p.floors) row(dl, t("层数"), p.floors);
    if (p.grid_code) row(dl, t("网格"), p.grid_code);
    box.appendChild(dl);
    if (gm.options && gm.options.cards) {   // staff and viewers: the building card (stewards, households)
      var a = el("a", "gm-link gm-card-link", t("楼栋卡片") + " →");
      a.href = "/buildings/" + encodeURIComponent(p.id);
      box.appendChild(a);
    }
    return box;
  }

  // -- selecting (embeds post to the host page) -------------------------------------------------------
  // a community or street embed: only what lies in its area (a code prefix) is selected and posted
  function inArea(src, code) {
    var area = src.opts.area;
    return !area || (typeof code === "string" && code.indexOf(area) === 0);
  }
  function select(src, kind, p) {
    if (!inArea(src, kind === "grid" ? p.code : p.grid_code)) return;
    gm.selected = { kind: kind, code: kind === "grid" ? p.code : p.id };
    if (!src.opts.select || window.parent === window) return;
    var origin = gm.options.selectOrigin || window.location.origin;
    var post = function (figures) {
      window.parent.postMessage({ type: "gridmap:select", kind: kind, code: gm.selected.code, figures: figures }, origin);
    };
    if (kind === "grid") {
      fetch(statsUrl(src, p.code)).then(function (r) { return r.ok ? r.json() : null; }).then(function (s) {
        post(s || { households: p.households, buildings: p.buildings });
      });
    } else {
      post({ households: p.households, grid_code: p.grid_code, name: p.name });
    }
  }

  // -- counts per area (complaints below the points zoom) ----------------------------------------------
  function countValue(v) { return typeof v === "number" ? v : 2; }      // "<5": drawn as the smallest
  function bubbleIcon(p) {
    var n = countValue(p.count), d = Math.round(Math.min(64, 22 + 9 * Math.log10(Math.max(1, n))));
    var span = el("span", null, p.count === null || p.count === undefined ? "—" : String(p.count));  // null: withheld
    var hot = typeof p.overdue === "number" && p.overdue > 0;
    return L.divIcon({ className: "gm-bubble" + (hot ? " gm-bubble-over" : "") + " gm-bubble-" + p.level,
                       iconSize: [d, d], iconAnchor: [d / 2, d / 2], html: span });
  }
  function bubblePopup(p, canZoom) {
    var box = el("div", "gm-popup"), dl = el("dl");
    box.appendChild(el("h3", null, (p.level === "grid" ? t("网格") + " " + p.id : p.name || p.id)));
    row(dl, t("待办诉求"), p.count);
    row(dl, t("超期"), p.overdue, typeof p.overdue === "number" && p.overdue > 0 ? "gm-over" : null);
    box.appendChild(dl);
    if (canZoom) box.appendChild(el("p", "gm-note", t("放大查看诉求点位")));  // the public never gets points
    return box;
  }
  function drawCounts(src, feats) {
    var points = src.opts.aggregate.points, grid = src.opts.aggregate.grid;
    var markers = feats.map(function (f) {
      var c = f.geometry.coordinates, p = f.properties;
      var mk = L.marker([c[1], c[0]], { icon: bubbleIcon(p), keyboard: false, riseOnHover: true,
                                          title: p.level === "grid" ? p.id : (p.name || p.id) });
      mk.bindPopup(function () { return bubblePopup(p, src.pointsShown && src.map.getZoom() < points); });
      mk.on("dblclick", function () { src.map.setView(mk.getLatLng(), p.level === "grid" ? points : grid); });
      return mk;
    });
    markers.forEach(function (mk) { src.bubbles.addLayer(mk); });
    return markers.length;
  }

  // -- drawing ----------------------------------------------------------------------------------------
  function draw(src, data) {
    var layer = src.opts.layer, group = src.group, feats = data.features || [];
    gm.aggregate[layer] = data.aggregate || null;
    src.pointsShown = data.points !== false;   // false: this user gets counts at every zoom (the public)
    if (src.opts.mode === "heat") {
      var pts = feats.map(function (f) {
        var c = f.geometry.coordinates;
        return [c[1], c[0], data.aggregate ? countValue(f.properties.count) : 1];
      });
      if (data.aggregate) group.setOptions({ max: Math.max.apply(null, pts.map(function (x) { return x[2]; }).concat([1])) });
      else group.setOptions({ max: 1 });
      group.setLatLngs(pts);
      return pts.length;
    }
    if (src.opts.mode === "cluster") {
      if (!src.cluster) {
        src.cluster = L.markerClusterGroup(src.opts.cluster || {});
        src.bubbles = L.layerGroup();
        group.addLayer(src.cluster); group.addLayer(src.bubbles);
      }
      src.cluster.clearLayers(); src.bubbles.clearLayers();
      if (data.aggregate) return drawCounts(src, feats);
      var markers = feats.map(function (f) {
        var c = f.geometry.coordinates, p = f.properties;
        var mk = L.marker([c[1], c[0]], { icon: iconFor(layer, p), title: p.category || "" });
        mk.bindPopup(function () { return pointPopup(layer, p); });
        return mk;
      });
      src.cluster.addLayers(markers);
      return markers.length;
    }
    if (src.gj) { group.removeLayer(src.gj); src.gj = null; }
    var n = 0, labelled = [];
    var gj = L.geoJSON(data, {
      style: function (f) { return styleFor(src, f); },
      pointToLayer: function (f, latlng) {
        return L.marker(latlng, { icon: iconFor(layer, f.properties), keyboard: false });
      },
      onEachFeature: function (f, lyr) {
        n += 1;
        var p = f.properties;
        if (layer === "grids") {
          lyr.bindPopup(function () { return gridPopup(src, p); }, { maxWidth: 260 });
          lyr.on("click", function () { select(src, "grid", p); });
          lyr.bindTooltip(el("span", null, String(p.code).slice(-3)), { permanent: false, direction: "center", className: "gm-label-grid" });
        } else if (layer === "buildings") {   // a tap: one handler on the layer below (hundreds of buildings)
          if (src.opts.focus && p.grid_code === src.opts.focus && src.map.getZoom() >= 17) labelled.push([lyr, el("span", null, String(p.households))]);
        } else if (layer === "estates" && gm.options && gm.options.resident && p.name) {
          lyr.bindTooltip(el("span", null, String(p.name)), { permanent: true, direction: "center",
                                           className: "gm-label gm-label-estates", interactive: false });
        } else if (layer === "streets" || layer === "communities") {
          lyr.bindTooltip(el("span", null, String(p.name)), { permanent: true, direction: "center",
                                           className: "gm-label gm-label-" + layer, interactive: false });
        } else if (src.opts.mode === "points") {
          lyr.bindPopup(function () { return pointPopup(layer, p); });
        }
      }
    });
    if (layer === "buildings") gj.on("click", function (e) {
      var p = e.layer && e.layer.feature && e.layer.feature.properties;
      if (!p) return;
      if (!resident()) {   // a resident's tap places a pin (the map gets the click)
        L.DomEvent.stop(e);
        L.popup().setLatLng(e.latlng).setContent(buildingPopup(p)).openOn(src.map);
      }
      select(src, "building", p);
    });
    gj.addTo(group);
    src.gj = gj;
    restack(src);
    labelled.forEach(function (x) {   // after adding: a polygon's centre needs the map
      x[0].bindTooltip(x[1], { permanent: true, direction: "center", className: "gm-label-hh" })
          .openTooltip(x[0].getBounds().getCenter());
    });
    return n;
  }

  /* the map's polygons share one canvas, where the last drawn wins a tap: a layer drawn again (grids reload on
   * every zoom) is put back under the layers above it in the drawing order, so a tap on a building opens the
   * building, not the grid around it */
  function restack(src) {
    var above = false;
    gm.sources.forEach(function (s) {
      if (s === src) { above = true; return; }
      if (above && s.map === src.map && s.gj && s.opts.mode === "polygon") s.gj.bringToFront();
    });
  }

  function labelsVisible(src, zoom) {
    if (src.opts.layer === "streets") return zoom <= 14;
    if (src.opts.layer === "communities") return zoom >= 12 && zoom <= 16;
    return true;
  }

  function boxOf(map) {
    var b = map.getBounds().pad(0.3);
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return +v.toFixed(5); });
  }
  function contains(outer, inner) {
    return outer && outer[0] <= inner[0] && outer[1] <= inner[1] && outer[2] >= inner[2] && outer[3] >= inner[3];
  }

  // one request per URL even when two layers show the same data (complaint clusters and heat map)
  var memo = {};
  function getJSON(url, signal) {
    if (!memo[url]) {
      memo[url] = fetch(url, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); });
      memo[url].catch(function () { delete memo[url]; });
      setTimeout(function () { delete memo[url]; }, 60000);
    }
    return new Promise(function (resolve, reject) {
      if (signal) signal.addEventListener("abort", function () { var e = new Error("aborted"); e.name = "AbortError"; reject(e); });
      memo[url].then(resolve, reject);
    });
  }

  function layerUrl(src, box, zoom) {
    return src.opts.url + "?bbox=" + box.join(",") + "&zoom=" + zoom + (src.opts.shift ? "&shift=" + src.opts.shift : "") +
           (src.opts.focusOnly && src.opts.focus ? "&grid=" + encodeURIComponent(src.opts.focus) : "") +
           (src.opts.area ? "&area=" + encodeURIComponent(src.opts.area) : "");
  }
  /* ask for a layer of the first view as soon as it is registered (the map already has its view): the answer
   * waits in getJSON's memo for refresh(), which runs once every layer is registered and draws it */
  function prefetch(src) {
    var map = src.map;
    if (!map._loaded || !map.hasLayer(src.group) || src.seed) return;
    var zoom = map.getZoom();
    if (zoom < src.opts.minZoom) return;
    getJSON(layerUrl(src, boxOf(map), zoom)).catch(function () {});   // refresh() reports a failure
  }

  function refresh(src) {
    var map = src.map, zoom = map.getZoom();
    if (!map.hasLayer(src.group)) return;                        // hidden in the layer control
    if (src.tiles) countTiles(src);
    if (zoom < src.opts.minZoom) {
      if (src.drawnAt !== "hidden") { draw(src, { features: [] }); src.drawnAt = "hidden"; src.box = null; }
      gm.drawn[src.opts.layer] = 0;
      src.loaded = true;
      status();
      return;
    }
    var view = map.getBounds();
    var viewBox = [view.getWest(), view.getSouth(), view.getEast(), view.getNorth()];
    var agg = src.opts.aggregate;
    var zoomKey = src.opts.mode === "polygon" ? zoom
      : agg ? (zoom >= agg.points ? "points" : zoom >= agg.grid ? "grid" : "community") : Math.max(src.opts.minZoom, 0);
    if (src.box && src.zoomKey === zoomKey && contains(src.box, viewBox)) {
      src.group.eachLayer && src.opts.mode === "polygon" && toggleLabels(src, zoom);
      return;
    }
    if (src.seed && zoom >= src.opts.minZoom) {   // sent with the page (a grid's own buildings): no request
      var seed = src.seed;
      src.seed = null;
      gm.drawn[src.opts.layer] = draw(src, seed);
      gm.totals[src.opts.layer] = seed.total;
      src.box = [-180, -90, 180, 90]; src.zoomKey = zoomKey; src.drawnAt = zoom; src.loaded = true;
      status();
      return;
    }
    var box = boxOf(map), url = layerUrl(src, box, zoom);
    if (src.controller) src.controller.abort();
    src.controller = new AbortController();
    gm.pending += 1; status();
    getJSON(url, src.controller.signal)
      .then(function (data) {
        var n = draw(src, data);
        src.box = box; src.zoomKey = zoomKey; src.drawnAt = zoom;
        gm.drawn[src.opts.layer] = n;
        gm.totals[src.opts.layer] = data.total;
        if (data.truncated) gm.truncated = true;
        toggleLabels(src, zoom);
        src.loaded = true;
      })
      .catch(function (e) { if (e.name !== "AbortError") { gm.errors = (gm.errors || 0) + 1; src.loaded = true; console.error(src.opts.layer, e); } })
      .finally(function () { gm.pending -= 1; gm.loads += 1; status(); });
  }

  function toggleLabels(src, zoom) {
    if (src.opts.layer !== "streets" && src.opts.layer !== "communities") return;
    var show = labelsVisible(src, zoom);
    src.group.eachLayer(function (gj) {
      gj.eachLayer && gj.eachLayer(function (l) {
        var tt = l.getTooltip && l.getTooltip();
        if (!tt) return;
        if (show && !l.isTooltipOpen()) l.openTooltip(); else if (!show && l.isTooltipOpen()) l.closeTooltip();
      });
    });
  }

  var timers = {};
  /* load the layers for the view: the first view as soon as the page's script ran, a new zoom at once (before
   * the vector tiles' decoding takes the main thread), pans once they settle for 120 ms */
  function schedule(map, delay, first) {
    var id = L.stamp(map);
    if (!first && map._gridmapFirst) return;   // the first load is due now: it reads the view then
    clearTimeout(timers[id]);
    map._gridmapFirst = !!first;
    map._gridmapZoom = map.getZoom();
    timers[id] = setTimeout(function () {
      map._gridmapFirst = false;
      gm.sources.forEach(function (s) { if (s.map === map) refresh(s); });
    }, delay);
  }

  // -- vector tiles (Leaflet.VectorGrid) ------------------------------------------------------------------
  function tileStyle(src) {
    var focus = src.opts.focus;
    return function (p, zoom) {
      var own = focus && p.grid_code === focus;
      // a grid page draws its own buildings as GeoJSON from the layer's zoom: the tiles only add the rest
      if (own && src.opts.focusOnly && zoom >= src.opts.minZoom) return { fill: false, stroke: false };
      return { fill: true, weight: 0.6, color: own ? "#5d4037" : "#8d8d8d", fillColor: own ? "#ffb74d" : "#d6d6d6",
               fillOpacity: own ? 0.85 : 0.6 };
    };
  }
  function countTiles(src) {        // distinct features in the tiles shown now (features cross tile edges)
    var ids = {}, n = 0, tiles = src.tiles._vectorTiles || {};
    var shown = src.map.hasLayer(src.tiles) && src.map.getZoom() >= src.opts.tiles.minZoom &&
                src.map.getZoom() <= src.opts.tiles.maxZoom;
    if (shown) Object.keys(tiles).forEach(function (k) {
      Object.keys(tiles[k]._features || {}).forEach(function (id) { if (!ids[id]) { ids[id] = 1; n += 1; } });
    });
    gm.tiled[src.opts.layer] = n;
    return n;
  }
  function addTiles(src) {
    var o = src.opts.tiles, layer = src.opts.layer, styles = {};
    styles[layer] = tileStyle(src);
    var vg = L.vectorGrid.protobuf(o.url, {
      rendererFactory: L.canvas.tile, vectorTileLayerStyles: styles, interactive: true,
      minZoom: o.minZoom, maxZoom: o.maxZoom, getFeatureId: function (f) { return f.properties.id; },
      fetchOptions: { credentials: "same-origin" }
    });
    src.tiles = vg; src.tilesLoading = false;
    vg.on("loading", function () { src.tilesLoading = true; status(); });
    vg.on("load", function () { src.tilesLoading = false; countTiles(src); status(); });
    vg.on("tileunload", function () { countTiles(src); });
    vg.on("click", function (e) {
      var p = e.layer && e.layer.properties;
      if (!p || resident()) return;
      L.popup().setLatLng(e.latlng).setContent(buildingPopup(p)).openOn(src.map);
      select(src, "building", p);
    });
    src.group.addLayer(vg);
  }

  gm.register = function (map, group, opts) {
    var src = { map: map, group: group, opts: opts, api: opts.url.replace(/\/layers\/.*$/, "") };
    gm.sources.push(src);
    gm.drawn[opts.layer] = 0;
    var seed = opts.focusOnly && document.getElementById("gridmap-seed-" + opts.layer);
    if (seed) src.seed = JSON.parse(seed.textContent);   // the whole focus grid's features, for the first view
    prefetch(src);
    if (opts.tiles && L.vectorGrid) addTiles(src);
    if (!map._gridmapBound) {
      map._gridmapBound = true;
      map.on("moveend", function () { schedule(map, map.getZoom() !== map._gridmapZoom ? 0 : 120); });
      map.on("overlayadd", function () { schedule(map, 120); });
      map.whenReady(function () { schedule(map, 0, true); });
    }
  };

  // -- controls ---------------------------------------------------------------------------------------
  function status() {
    var s = document.getElementById("gm-status");
    if (!s) return;
    var map = gm.map, zoom = map ? map.getZoom() : 0, hints = [];
    gm.sources.forEach(function (src) {
      var tiled = src.tiles && zoom >= src.opts.tiles.minZoom;
      if (zoom < src.opts.minZoom && !tiled && map.hasLayer(src.group) && src.opts.layer === "buildings") hints.push(t("放大查看楼栋"));
    });
    if (gm.truncated) hints.push(t("要素过多，请放大"));
    var busy = gm.pending > 0 || tilesBusy(), text = busy ? t("加载中…") : hints.join(" · "), idle = busy ? "0" : "1";
    if (s.textContent !== text) { s.textContent = text; s.style.display = text ? "" : "none"; }   // no restyle when unchanged
    if (document.documentElement.dataset.gmIdle !== idle) document.documentElement.dataset.gmIdle = idle;
  }

  function control(position, build) {
    var C = L.Control.extend({ options: { position: position }, onAdd: function () {
      var box = build(); L.DomEvent.disableClickPropagation(box); L.DomEvent.disableScrollPropagation(box);
      // and no click at all reaches the map: Leaflet tells a control's click by walking up from its target,
      // which fails once the control has removed it (a picked search result), and the map then took the
      // tap as a place (the intake form's pin)
      L.DomEvent.on(box, "click", L.DomEvent.stopPropagation);
      return box; } });
    return new C();
  }

  function visibleLayers(map) {
    var out = {};
    gm.sources.forEach(function (s) { if (s.map === map && map.hasLayer(s.group)) out[s.opts.layer] = true; });
    return out;
  }

  /* the legend lists only what is on the map: grid load, stewards' roles, requests and the "<5" bubbles */
  function legend(map, opts) {
    var box = el("div", "gm-legend leaflet-bar");
    function fill() {
      box.textContent = "";
      var on = visibleLayers(map), any = !gm.sources.length;
      if (on.grids || any) {
        box.appendChild(el("h4", null, t("网格户数")));
        [[LOAD.under, t("低于下限") + " (<" + opts.min + ")"],
         ["linear-gradient(90deg, rgb(199,233,192), rgb(35,139,69))", opts.min + "–" + opts.max],
         [LOAD.over, t("高于上限") + " (>" + opts.max + ")"]].forEach(function (r) {
          var line = el("div", "gm-legend-row"), sw = el("span", "gm-swatch");
          sw.style.background = r[0];
          line.appendChild(sw); line.appendChild(el("span", null, r[1]));
          box.appendChild(line);
        });
      }
      if (opts.roles && (on.stewards || any)) {
        var roles = el("div", "gm-legend-roles");
        Object.keys(ROLE).forEach(function (k) {
          var line = el("div", "gm-legend-row"), ic = el("span", "gm-icon-inline", glyph(k));
          ic.style.background = ROLE[k].colour;
          line.appendChild(ic); line.appendChild(el("span", null, t("role:" + k, k)));
          roles.appendChild(line);
        });
        box.appendChild(roles);
      }
      if (on.complaints) {
        var c = el("div", "gm-legend-roles gm-legend-complaints");
        var r1 = el("div", "gm-legend-row"), dot = el("span", "gm-dot gm-overdue gm-dot-inline");
        r1.appendChild(dot); r1.appendChild(el("span", null, t("超期诉求")));
        var r2 = el("div", "gm-legend-row"), b = el("span", "gm-bubble-inline", "<5");
        r2.appendChild(b); r2.appendChild(el("span", null, t("区域内待办诉求数；1–4 件显示为 <5，保护个人信息")));
        var r3 = el("div", "gm-legend-row"), w = el("span", "gm-bubble-inline", "—");
        r3.appendChild(w); r3.appendChild(el("span", null, t("不公开：防止与其他数字相减推算出小数字")));
        c.appendChild(r1); c.appendChild(r2); c.appendChild(r3);
        box.appendChild(c);
      }
      box.style.display = box.childNodes.length ? "" : "none";
    }
    fill();
    map.on("overlayadd overlayremove layeradd layerremove", function () { clearTimeout(box._t); box._t = setTimeout(fill, 50); });
    return box;
  }

  /* suggestions while typing; a pick zooms to the place and outlines it */
  function searchBox(map, opts) {
    var box = el("div", "gm-search leaflet-bar");
    var form = el("form"); form.setAttribute("role", "search");
    var input = el("input"); input.type = "search"; input.placeholder = t("搜索街道、社区、小区、楼栋或网格");
    input.setAttribute("aria-label", t("搜索")); input.name = "q"; input.autocomplete = "off";
    var list = el("ul", "gm-results"); list.setAttribute("role", "listbox");
    form.appendChild(input); box.appendChild(form); box.appendChild(list);
    var timer = null, asked = 0, mark = null;
    function pick(h) {
      if (mark) map.removeLayer(mark);
      if (h.geometry) {
        mark = L.geoJSON(h.geometry, { interactive: false, style: { color: "#ff6d00", weight: 4, fill: true, fillOpacity: 0.08, dashArray: null } }).addTo(map);
      }
      gm.searchPick = { kind: h.kind, id: h.id };
      if (h.bbox) map.fitBounds([[h.bbox[1], h.bbox[0]], [h.bbox[3], h.bbox[2]]], { maxZoom: h.kind === "building" ? 18 : 17 });
      list.textContent = "";
      input.value = h.label.split(" · ")[0];
      if (h.kind === "grid" && opts.linkGrids !== false) {
        var go = el("li"), a = el("a", "gm-link", t("查看网格") + " " + h.label.split(" · ")[0] + " →");
        a.href = h.url; go.appendChild(a); list.appendChild(go);
      }
    }
    function ask(q, choose) {
      var n = ++asked;
      fetch(opts.api + "/search?q=" + encodeURIComponent(q)).then(function (r) { return r.json(); }).then(function (data) {
        if (n !== asked) return;       // an older answer arriving late
        list.textContent = "";
        var hits = data.results || [];
        if (!hits.length) { list.appendChild(el("li", "gm-empty", t("没有找到"))); return; }
        if (choose) { pick(hits[0]); return; }
        hits.forEach(function (h) {
          var li = el("li"), b = el("button", null, h.label);
          b.type = "button"; li.setAttribute("role", "option");
          li.appendChild(el("span", "gm-kind", t("kind:" + h.kind, h.kind)));
          li.appendChild(b);
          b.addEventListener("click", function () { pick(h); });
          list.appendChild(li);
        });
      });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (!q) { list.textContent = ""; return; }
      timer = setTimeout(function () { ask(q, false); }, 250);
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      clearTimeout(timer);
      var q = input.value.trim();
      list.textContent = "";
      if (q) ask(q, false);
    });
    return box;
  }

  function locateButton(map) {
    var box = el("div", "leaflet-bar gm-locate");
    var a = el("a", null, "◎"); a.href = "#"; a.title = t("定位我的位置"); a.setAttribute("role", "button");
    a.setAttribute("aria-label", t("定位我的位置"));
    box.appendChild(a);
    var marker = null;
    a.addEventListener("click", function (e) {
      e.preventDefault();
      map.locate({ setView: true, maxZoom: 17, enableHighAccuracy: true });
    });
    map.on("locationfound", function (e) {
      if (marker) map.removeLayer(marker);
      marker = L.circle(e.latlng, { radius: Math.max(e.accuracy, 10), color: "#1565c0", weight: 2, fillOpacity: 0.15 }).addTo(map);
      gm.located = [e.latlng.lat, e.latlng.lng];
    });
    map.on("locationerror", function (e) {
      var s = document.getElementById("gm-status");
      if (s) { s.textContent = t("geo:" + e.code, t("无法定位")); s.style.display = ""; }
      gm.locateError = e.message;
    });
    return box;
  }

  gm.controls = function (map, opts) {
    gm.map = map; gm.options = opts;
    if (opts.search) control("topleft", function () { return searchBox(map, opts); }).addTo(map);
    if (opts.locate) control("topleft", function () { return locateButton(map); }).addTo(map);
    if (opts.legend && !opts.resident) control("bottomright", function () { return legend(map, opts.legend); }).addTo(map);
    control("bottomleft", function () { var s = el("div", "gm-status"); s.id = "gm-status"; s.style.display = "none"; return s; }).addTo(map);
    map.attributionControl && map.attributionControl.setPrefix("Leaflet");
    setTimeout(status, 0);
  };

  /* wait until every visible layer has loaded once and nothing is pending (tests, benchmarks) */
  function tilesBusy() {
    return gm.sources.some(function (s) { return s.tiles && s.tilesLoading && s.map.hasLayer(s.group); });
  }
  gm.idle = function () {
    return gm.pending === 0 && !tilesBusy() &&
      gm.sources.every(function (s) { return s.loaded || !s.map.hasLayer(s.group); });
  };
})();
