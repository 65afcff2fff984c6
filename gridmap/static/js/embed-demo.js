/* The demo host page: show what the embedded map posts when a grid or building is clicked. */
(function () {
  "use strict";
  var frame = document.getElementById("embedded"), box = document.getElementById("selection");
  if (!frame || !box) return;
  window.gridmapMessages = [];
  window.addEventListener("message", function (e) {
    if (e.origin !== window.location.origin || !e.data || e.data.type !== "gridmap:select") return;
    window.gridmapMessages.push(e.data);
    var dl = document.createElement("dl");
    function add(k, v) { var dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = k; dd.textContent = v === undefined || v === null ? "—" : String(v); dl.appendChild(dt); dl.appendChild(dd); }
    add("kind", e.data.kind); add("code", e.data.code);
    var f = e.data.figures || {};
    Object.keys(f).forEach(function (k) { if (typeof f[k] !== "object") add(k, f[k]); });
    var old = box.querySelector("dl, .empty"); if (old) old.remove();
    box.appendChild(dl);
  });
})();
