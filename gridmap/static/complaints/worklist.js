// Staff moves (work list and a request's page): a tap on an action opens its confirmation (a note, a reply the
// resident sees, the rating for 回访评价, the department for 改派, a warning before moves that undo work); 确定
// posts JSON to /api/complaints/<id>/transitions (回复: the reply alone to /api/complaints/<id>/replies) and
// reloads. Messages are put in the page through textContent only.
(function () {
  "use strict";
  var text = document.getElementById("gm-list-text");
  if (!text) return;
  text = text.dataset;
  var csrf = document.querySelector('meta[name="csrf-token"]');
  Array.prototype.forEach.call(document.querySelectorAll(".gm-actions"), function (box) {
    var form = box.querySelector("form.gm-move");
    var evalBox = form.querySelector(".gm-eval");
    var warn = form.querySelector(".gm-warn");
    var deptBox = form.querySelector(".gm-dept");
    Array.prototype.forEach.call(box.querySelectorAll("button.gm-act"), function (b) {
      b.addEventListener("click", function () {
        form.to.value = b.dataset.to;
        form.querySelector(".gm-ask-verb").textContent = b.dataset.label;
        warn.hidden = !b.dataset.confirm;
        evalBox.hidden = b.dataset.to !== "evaluated";
        form.querySelector(".gm-note-field").hidden = b.dataset.to === "reply";  // 回复: words for the resident only
        form.reply.required = b.dataset.to === "reply";
        if (deptBox) {   // 改派: to which department (asked for only there)
          deptBox.hidden = b.dataset.to !== "reassigned";
          form.department.required = !deptBox.hidden;
        }
        form.hidden = false;
        Array.prototype.forEach.call(box.querySelectorAll("button.gm-act"), function (o) {
          o.setAttribute("aria-pressed", o === b ? "true" : "false");
        });
        form.querySelector("button[type=submit]").focus();
      });
    });
    form.querySelector(".gm-cancel").addEventListener("click", function () { form.hidden = true; });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var reply = form.to.value === "reply";
      var body = reply ? {reply: form.reply.value} : {to: form.to.value, note: form.note.value || null};
      if (!reply && form.reply.value.trim()) body.reply = form.reply.value;
      if (form.to.value === "reassigned" && form.department) body.department = form.department.value || null;
      if (form.to.value === "evaluated") { body.rating = form.rating.value ? parseInt(form.rating.value, 10) : null; body.resolved = form.resolved.value || null; }
      var headers = {"Content-Type": "application/json", Accept: "application/json"};
      if (csrf && csrf.content) headers["X-CSRFToken"] = csrf.content;
      var msg = form.querySelector(".gm-msg");
      var label = form.querySelector(".gm-ask-verb").textContent;
      var offline = window.gridmapOffline;  // a grid leader's page: without network the move is queued (待同步)
      function queue() {
        return offline.queue(form.dataset.id, body, box.dataset.version, label, box.dataset.state).then(function () {
          form.hidden = true;
          msg.textContent = "";
        });
      }
      if (reply) offline = null;  // a reply alone is sent only with the network (moves are queued)
      if (offline && !navigator.onLine) { queue(); return; }
      fetch("/api/complaints/" + encodeURIComponent(form.dataset.id) + (reply ? "/replies" : "/transitions"),
            {method: "POST", headers: headers, body: JSON.stringify(body), credentials: "same-origin"})
        .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, body: j}; }); })
        .then(function (r) {
          if (!r.ok) { msg.textContent = text.error + ": " + (r.body.error ? r.body.error.message : ""); return; }
          msg.textContent = text.ok;
          window.location.reload();
        })
        .catch(function (e) {
          if (offline && e instanceof TypeError) { queue(); return; }  // the network dropped on the way
          msg.textContent = text.error + ": " + e;
        });
    });
  });
})();
