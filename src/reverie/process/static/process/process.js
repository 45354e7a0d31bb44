// Process pages, progressive enhancement only: without this file the theme page still
// shows the run's state and a link to refresh it.
(function () {
  "use strict";

  // While a theme search runs, ask the server for its progress every two seconds and
  // show it; when the search ends, reload so the themes appear.
  function followRun(box) {
    var url = box.dataset.statusUrl;
    var bar = box.querySelector("progress");
    var stage = box.querySelector("[data-run-stage]");
    var state = box.querySelector("[data-run-state]");
    var tries = 0;
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("status " + response.status); }
          return response.json();
        })
        .then(function (run) {
          tries = 0;
          if (bar && run.total > 0) {
            bar.max = run.total;
            bar.value = run.done;
            bar.textContent = run.percent + "%";
          }
          if (stage) { stage.textContent = run.stage || ""; }
          if (state) { state.textContent = run.status_label + (run.total > 0 ? " — " + run.percent + "%" : ""); }
          if (run.active) {
            window.setTimeout(poll, 2000);
          } else {
            window.location.reload();
          }
        })
        .catch(function () {
          tries += 1;
          if (state) { state.textContent = "Could not reach the server; trying again."; }
          if (tries < 30) { window.setTimeout(poll, 5000); }
        });
    }
    window.setTimeout(poll, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-status-url]"), followRun);
  });
})();
