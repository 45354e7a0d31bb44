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

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
})();
