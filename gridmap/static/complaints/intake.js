// Intake form: click the map (the app's Leaflet map) or locate to set lon/lat, preview routing and duplicates,
// submit as JSON. Resident text is only ever put in the page through textContent.
(function () {
  "use strict";
  var form = document.getElementById("gm-complaint-form");
  if (!form) return;
  var box = document.getElementById("gm-intake-map");
  var shift = box ? box.dataset.shift : "";
  var text = document.getElementById("gm-text").dataset;
  // a date shown to people is the date where the service is (data-zone, the GRIDMAP_TIMEZONE setting),
  // not the browser's: the API gives times in UTC
  function localDate(iso) {
    if (!iso) return "";
    return new Intl.DateTimeFormat("en-CA", {timeZone: text.zone, year: "numeric", month: "2-digit",
                                             day: "2-digit"}).format(new Date(iso));
  }
  var routeBox = document.getElementById("gm-route");
  var dupBox = document.getElementById("gm-dups");
  var result = document.getElementById("gm-result");
  var where = document.getElementById("gm-where");
  var csrf = document.querySelector('meta[name="csrf-token"]');
  var marker = null;
  var ZOOM_TO_PIN = 16;   // below this zoom a tap zooms in instead of placing the pin

  function el(tag, txt) { var e = document.createElement(tag); if (txt != null) e.textContent = txt; return e; }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  // AMap tiles are in GCJ-02: the map shows overlays shifted, so a click is GCJ-02 and goes back to WGS84
  var A = 6378245.0, EE = 0.00669342162296594323;
  function tLat(x, y) { var r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(y * Math.PI) + 40 * Math.sin(y / 3 * Math.PI)) * 2 / 3;
    return r + (160 * Math.sin(y / 12 * Math.PI) + 320 * Math.sin(y * Math.PI / 30)) * 2 / 3; }
  function tLon(x, y) { var r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(x * Math.PI) + 40 * Math.sin(x / 3 * Math.PI)) * 2 / 3;
    return r + (150 * Math.sin(x / 12 * Math.PI) + 300 * Math.sin(x / 30 * Math.PI)) * 2 / 3; }
  function toGcj(lon, lat) { var dLat = tLat(lon - 105, lat - 35), dLon = tLon(lon - 105, lat - 35);
    var rad = lat / 180 * Math.PI, m = 1 - EE * Math.sin(rad) * Math.sin(rad), sm = Math.sqrt(m);
    return [lon + dLon * 180 / (A / sm * Math.cos(rad) * Math.PI), lat + dLat * 180 / (A * (1 - EE) / (m * sm) * Math.PI)]; }
  function toWgs(lon, lat) { var x = lon, y = lat;  // fixed-point inverse, < 1 cm after a few rounds
    for (var i = 0; i < 6; i++) { var g = toGcj(x, y); x -= g[0] - lon; y -= g[1] - lat; }
    return [x, y]; }
  function shown(lon, lat) { return shift === "gcj02" ? toGcj(lon, lat) : [lon, lat]; }

  function mark(lon, lat) {
    var map = window.gridmap && window.gridmap.map;
    if (!map || !window.L) return;
    var p = shown(lon, lat);
    if (!marker) marker = L.marker([p[1], p[0]], { keyboard: false }).addTo(map);
    else marker.setLatLng([p[1], p[0]]);
  }

  var locText = document.getElementById("gm-loc-text");
  var notChosen = locText.textContent;   // "not chosen yet", shown again once a request is in
  var formError = document.getElementById("gm-form-error");
  var depts = JSON.parse((document.getElementById("gm-depts") || {}).textContent || "{}");
  var names = JSON.parse((document.getElementById("gm-names") || {}).textContent || "{}");
  function setPoint(lon, lat) {
    form.lon.value = lon.toFixed(6);
    form.lat.value = lat.toFixed(6);
    locText.textContent = text.picked + " (" + lat.toFixed(5) + ", " + lon.toFixed(5) + ")";
    where.textContent = "";
    formError.hidden = true;
    mark(lon, lat);
    preview();
  }
  // a refused or failed geolocation in the page's language (the browser's own message is English)
  function geoError(code) { return text["geo" + code] || text.geo2; }

  function hook() {
    var map = window.gridmap && window.gridmap.map;
    if (!map) { setTimeout(hook, 100); return; }
    map.getContainer().style.cursor = "crosshair";
    map.on("preclick", function (e) {   // preclick: also when the click lands on a building or grid
      if (map.getZoom() < ZOOM_TO_PIN) {  // a tap on the whole district means "closer", not "here"
        map.setView(e.latlng, Math.min(ZOOM_TO_PIN + 1, map.getMaxZoom()));
        where.textContent = text.zoomed;
        return;
      }
      var p = shift === "gcj02" ? toWgs(e.latlng.lng, e.latlng.lat) : [e.latlng.lng, e.latlng.lat];
      setPoint(p[0], p[1]);
    });
    map.on("locationerror", function (e) { where.textContent = geoError(e.code); });
    map.on("locationfound", function (e) {   // the map's own "locate me" control places the request too
      var p = shift === "gcj02" ? toWgs(e.latlng.lng, e.latlng.lat) : [e.latlng.lng, e.latlng.lat];
      setPoint(p[0], p[1]);
    });
  }
  if (box) hook();
  document.getElementById("gm-locate").addEventListener("click", function () {
    var map = window.gridmap && window.gridmap.map;
    where.textContent = text.locating;
    if (map) { map.locate({ setView: true, maxZoom: 17, enableHighAccuracy: true }); return; }
    if (!navigator.geolocation) { where.textContent = text.nogeo; return; }
    navigator.geolocation.getCurrentPosition(function (pos) { setPoint(pos.coords.longitude, pos.coords.latitude); },
      function (err) { where.textContent = geoError(err.code); });
  });
  form.category.addEventListener("change", preview);

  function preview() {
    if (!form.lon.value || !form.lat.value || !form.category.value) return;
    var q = new URLSearchParams({lon: form.lon.value, lat: form.lat.value, category: form.category.value});
    fetch("/api/complaints/route?" + q, {headers: {Accept: "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (r) {
        clear(routeBox); clear(dupBox);
        if (r.error) { routeBox.appendChild(el("p", r.error.message)); return; }
        routeBox.appendChild(el("p", text.grid + ": " + (r.grid_code || "—") + " · " + text.dept + ": " + ((r.departments && depts[r.departments[0]]) || r.agency_responsible || "—")));
        if (r.needs_confirmation) routeBox.appendChild(el("p", text.confirm));
        if (r.duplicates && r.duplicates.length) {
          dupBox.appendChild(el("p", text.dups));
          var none = el("label"); var n = el("input"); n.type = "radio"; n.name = "duplicate_of"; n.value = ""; n.checked = true;
          none.appendChild(n); none.appendChild(el("span", text.none)); dupBox.appendChild(none);
          var cats = names.categories || {}, states = names.states || {};
          r.duplicates.forEach(function (d) {   // number, category, state, distance: nothing personal
            var l = el("label"); var i = el("input"); i.type = "radio"; i.name = "duplicate_of"; i.value = d.id;
            var what = [cats[form.category.value] || form.category.value, states[d.state] || d.state, Math.round(d.distance_m) + "\u00a0m"];
            l.appendChild(i); l.appendChild(el("span", text.link + " " + d.id + " · " + what.join(" · ")));
            dupBox.appendChild(l);
          });
        }
      });
  }

  function refuse(msg, field) {
    formError.textContent = msg; formError.hidden = false;
    if (field && field.focus) field.focus();
  }
  function confirmation(j) {   // the receipt, at the top of the page: number, department, due date, the link
    clear(result);
    var box = el("div"); box.className = "gm-receipt"; box.setAttribute("role", "status");
    box.appendChild(el("h2", "✓ " + text.title));
    var dl = el("dl"); dl.className = "gm-facts";
    [[text.number, j.id], [text.dept, depts[j.department] || j.department || "—"], [text.due, localDate(j.due_at)]]
      .forEach(function (r) { dl.appendChild(el("dt", r[0])); var dd = el("dd", r[1]); dl.appendChild(dd); });
    dl.querySelectorAll("dd")[0].id = "gm-receipt-number";
    box.appendChild(dl);
    var a = el("a", text.follow + " →"); a.href = j.status_url; a.className = "gm-primary gm-follow"; a.id = "gm-follow";
    box.appendChild(a);
    box.appendChild(el("p", text.keep));
    result.appendChild(box);
    result.scrollIntoView({block: "start"});
    result.focus({preventScroll: true});
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    formError.hidden = true;
    if (!form.category.value) { refuse(text.nocat, form.category); return; }
    if (!form.description.value.trim()) { refuse(text.nodesc, form.description); return; }
    if (!form.lon.value || !form.lat.value) { refuse(text.noplace, document.getElementById("gm-locate")); return; }
    var body = {};
    new FormData(form).forEach(function (v, k) { if (v !== "") body[k] = v; });
    var headers = {"Content-Type": "application/json", Accept: "application/json"};
    if (csrf) headers["X-CSRFToken"] = csrf.content;
    fetch(form.action, {method: "POST", headers: headers, body: JSON.stringify(body), credentials: "same-origin"})
      .then(function (r) { return r.json().then(function (j) { return [r.status, j]; }); })
      .then(function (res) {
        var j = res[1];
        if (res[0] !== 201) { refuse(text.error + ": " + (j.error ? j.error.message : res[0])); return; }
        confirmation(j);
        form.reset();
        // a hidden field keeps its value through reset(): clear the place so the next request asks again
        form.lon.value = ""; form.lat.value = "";
        clear(routeBox); clear(dupBox);
        locText.textContent = notChosen; where.textContent = "";
        if (marker && marker.remove) { marker.remove(); marker = null; }
      });
  });
})();
