// Intake form: click the grid map (inline SVG) or locate to set lon/lat, preview routing and duplicates,
// submit as JSON. Resident text is only ever put in the page through textContent.
(function () {
  "use strict";
  var form = document.getElementById("gm-complaint-form");
  if (!form) return;
  var svg = document.getElementById("gridmap-svg");
  var text = document.getElementById("gm-text").dataset;
  var routeBox = document.getElementById("gm-route");
  var dupBox = document.getElementById("gm-dups");
  var result = document.getElementById("gm-result");
  var csrf = document.querySelector('meta[name="csrf-token"]');

  function el(tag, txt) { var e = document.createElement(tag); if (txt != null) e.textContent = txt; return e; }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function setPoint(lon, lat) {
    form.lon.value = lon.toFixed(6);
    form.lat.value = lat.toFixed(6);
    if (svg) {
      var d = svg.dataset, x = (lon - d.minlon) * d.klat * d.scale, y = (d.maxlat - lat) * d.scale;
      var dot = svg.querySelector("circle.gm-dot");
      if (!dot) { dot = document.createElementNS("http://www.w3.org/2000/svg", "circle"); dot.setAttribute("class", "gm-dot"); dot.setAttribute("r", "5"); dot.setAttribute("fill", "#d7301f"); svg.appendChild(dot); }
      dot.setAttribute("cx", x); dot.setAttribute("cy", y);
    }
    preview();
  }

  if (svg) {
    svg.addEventListener("click", function (ev) {
      var pt = svg.createSVGPoint(); pt.x = ev.clientX; pt.y = ev.clientY;
      var p = pt.matrixTransform(svg.getScreenCTM().inverse()), d = svg.dataset;
      setPoint(parseFloat(d.minlon) + p.x / (d.scale * d.klat), parseFloat(d.maxlat) - p.y / d.scale);
    });
  }
  document.getElementById("gm-locate").addEventListener("click", function () {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(function (pos) { setPoint(pos.coords.longitude, pos.coords.latitude); });
  });
  form.category.addEventListener("change", preview);
  form.lon.addEventListener("change", preview);
  form.lat.addEventListener("change", preview);

  function preview() {
    if (!form.lon.value || !form.lat.value) return;
    var q = new URLSearchParams({lon: form.lon.value, lat: form.lat.value, category: form.category.value});
    fetch("/api/complaints/route?" + q, {headers: {Accept: "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (r) {
        clear(routeBox); clear(dupBox);
        if (r.error) { routeBox.appendChild(el("p", r.error.message)); return; }
        routeBox.appendChild(el("p", text.grid + ": " + (r.grid_code || "—") + " · " + text.dept + ": " + (r.agency_responsible || "—")));
        if (r.needs_confirmation) routeBox.appendChild(el("p", text.confirm));
        if (r.duplicates && r.duplicates.length) {
          dupBox.appendChild(el("p", text.dups));
          var none = el("label"); var n = el("input"); n.type = "radio"; n.name = "duplicate_of"; n.value = ""; n.checked = true;
          none.appendChild(n); none.appendChild(document.createTextNode(" " + text.none)); dupBox.appendChild(none);
          r.duplicates.forEach(function (d) {
            var l = el("label"); var i = el("input"); i.type = "radio"; i.name = "duplicate_of"; i.value = d.id;
            l.appendChild(i); l.appendChild(document.createTextNode(" " + text.link + " " + d.id + " (" + Math.round(d.distance_m) + " m)"));
            dupBox.appendChild(l);
          });
        }
      });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = {};
    new FormData(form).forEach(function (v, k) { if (v !== "") body[k] = v; });
    var headers = {"Content-Type": "application/json", Accept: "application/json"};
    if (csrf) headers["X-CSRFToken"] = csrf.content;
    fetch(form.action, {method: "POST", headers: headers, body: JSON.stringify(body), credentials: "same-origin"})
      .then(function (r) { return r.json().then(function (j) { return [r.status, j]; }); })
      .then(function (res) {
        clear(result);
        var j = res[1];
        if (res[0] !== 201) { result.appendChild(el("p", text.error + ": " + (j.error ? j.error.message : res[0]))); return; }
        result.appendChild(el("p", text.ok + " " + j.id + " · " + text.due + ": " + (j.due_at || "").slice(0, 10)));
        form.reset();
      });
  });
})();
