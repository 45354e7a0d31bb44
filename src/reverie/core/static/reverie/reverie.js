// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Sortable tables: header cells become buttons; numbers sort numerically.
  function makeSortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var numeric = th.dataset.sort === "number";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a.cells[index]), y = cellValue(b.cells[index]);
          if (numeric) {
            x = parseFloat(x); y = parseFloat(y);
            if (isNaN(x)) { x = Infinity; } if (isNaN(y)) { y = Infinity; }
            return ascending ? x - y : y - x;
          }
          return ascending ? x.localeCompare(y) : y.localeCompare(x);
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  function cellValue(cell) {
    if (!cell) { return ""; }
    return cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
  }

  // Autosave for note editors: a few seconds after typing stops, the form is posted in the
  // background. The first save of a new note creates the draft; later saves update it.
  function autosave(form) {
    var status = form.querySelector(".autosave-status");
    var timer = null;
    var dirty = false;
    function save() {
      if (!dirty) { return; }
      dirty = false;
      var token = form.querySelector("input[name=csrfmiddlewaretoken]");
      fetch(form.dataset.autosave, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-Autosave": "1", "X-CSRFToken": token ? token.value : "" },
        credentials: "same-origin"
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (result) {
        if (!result.ok) {
          if (status) { status.textContent = "Not saved: " + (result.body.error || "check the highlighted fields and save."); }
          return;
        }
        form.dataset.autosave = result.body.save_url;
        form.action = result.body.save_url;
        if (window.location.pathname !== result.body.edit_url) {
          window.history.replaceState(null, "", result.body.edit_url);
        }
        if (status) { status.textContent = "Saved at " + result.body.saved_at; }
      }).catch(function () {
        dirty = true;
        if (status) { status.textContent = "Offline: your text is kept on this page and will be saved when you are back."; }
      });
    }
    form.addEventListener("input", function () {
      dirty = true;
      if (status) { status.textContent = "Editing…"; }
      window.clearTimeout(timer);
      timer = window.setTimeout(save, 3000);
    });
    // A normal submit saves everything itself; a background save racing it would
    // create a second draft.
    form.addEventListener("submit", function () { dirty = false; window.clearTimeout(timer); });
    window.addEventListener("beforeunload", save);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
    Array.prototype.forEach.call(document.querySelectorAll("form.editor[data-autosave]"), autosave);
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
})();
