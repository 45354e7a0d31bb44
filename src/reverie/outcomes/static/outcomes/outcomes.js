// Outcome pages: item-level detail for chart points, and refresh progress. Progressive
// enhancement only: every fact is also in the text summary and the tables.
(function () {
  "use strict";

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }

  function setupChart(figure) {
    var source = document.getElementById(figure.dataset.points);
    var out = document.getElementById(figure.dataset.detail);
    if (!source || !out) { return; }
    var data = JSON.parse(source.textContent);
    var points = Array.prototype.slice.call(figure.querySelectorAll("g.pt"));
    var current = -1;

    function show(i) {
      if (i < 0 || i >= data.length) { return; }
      current = i;
      points.forEach(function (p) { p.classList.remove("selected"); });
      if (points[i]) { points[i].classList.add("selected"); }
      var d = data[i];
      out.textContent = "";
      var head = d.date + ": score " + d.total + (d.band ? " (" + d.band + ")" : "") + ", " +
        (d.session ? "measurement " + d.session + " in treatment" : d.when.toLowerCase());
      out.appendChild(el("p", head, "strong"));
      if (d.expected && d.session > 1) {
        out.appendChild(el("p", "Expected range at this measurement: " + d.expected[0] + " to " + d.expected[1] + "."));
      }
      if (d.items.length) {
        var list = el("ol");
        d.items.forEach(function (item) {
          var li = el("li");
          li.value = item.number;
          li.appendChild(el("span", item.text + ": "));
          li.appendChild(el("strong", item.answer + " (" + item.value + ")"));
          list.appendChild(li);
        });
        out.appendChild(list);
      }
      var step = el("div", null, "step");
      var prev = el("button", "Earlier score", "button small secondary");
      prev.type = "button";
      prev.disabled = i === 0;
      prev.addEventListener("click", function () { show(current - 1); });
      var next = el("button", "Later score", "button small secondary");
      next.type = "button";
      next.disabled = i === data.length - 1;
      next.addEventListener("click", function () { show(current + 1); });
      step.appendChild(prev);
      step.appendChild(next);
      out.appendChild(step);
    }

    points.forEach(function (p) {
      var i = parseInt(p.getAttribute("data-i"), 10);
      p.addEventListener("click", function () { show(i); });
      p.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); show(i); }
      });
    });
  }

  function pollProgress(box) {
    var bar = box.querySelector("progress");
    var text = box.querySelector(".progress-text");
    if (!bar) { return; }
    var wasRunning = false;
    function tick() {
      fetch(box.dataset.progressUrl, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          if (s.running) {
            wasRunning = true;
            bar.max = Math.max(s.total, 1);
            bar.value = s.done;
            if (text) { text.textContent = s.done + " of " + s.total + " episodes"; }
          } else if (wasRunning || !s.full_requested) {
            window.location.reload();
            return;
          }
          window.setTimeout(tick, 3000);
        })
        .catch(function () { window.setTimeout(tick, 10000); });
    }
    window.setTimeout(tick, 3000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("figure.chart[data-points]"), setupChart);
    var box = document.querySelector("[data-progress-url]");
    if (box) { pollProgress(box); }
  });
})();
