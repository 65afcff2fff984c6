// Staff work list: each request's move form posts JSON to /api/complaints/<id>/transitions, then reloads.
// Messages are put in the page through textContent only.
(function () {
  "use strict";
  var text = document.getElementById("gm-list-text");
  if (!text) return;
  text = text.dataset;
  var csrf = document.querySelector('meta[name="csrf-token"]');
  Array.prototype.forEach.call(document.querySelectorAll("form.gm-move"), function (form) {
    var evalBox = form.querySelector(".gm-eval");
    function toggle() { evalBox.hidden = form.to.value !== "evaluated"; }
    form.to.addEventListener("change", toggle);
    toggle();
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = {to: form.to.value, note: form.note.value || null};
      if (form.to.value === "evaluated") { body.rating = form.rating.value ? parseInt(form.rating.value, 10) : null; body.resolved = form.resolved.value || null; }
      var headers = {"Content-Type": "application/json", Accept: "application/json"};
      if (csrf && csrf.content) headers["X-CSRFToken"] = csrf.content;
      var msg = form.querySelector(".gm-msg");
      fetch("/api/complaints/" + encodeURIComponent(form.dataset.id) + "/transitions",
            {method: "POST", headers: headers, body: JSON.stringify(body), credentials: "same-origin"})
        .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, body: j}; }); })
        .then(function (r) {
          if (!r.ok) { msg.textContent = text.error + ": " + (r.body.error ? r.body.error.message : ""); return; }
          msg.textContent = text.ok;
          window.location.reload();
        })
        .catch(function (e) { msg.textContent = text.error + ": " + e; });
    });
  });
})();
