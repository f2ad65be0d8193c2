// Progressive enhancement only: the daily bars show their figure in a visible tooltip on
// hover and keyboard focus. Without JavaScript the same text is in each bar's <title>,
// its accessible label, and the table under the chart.
(function () {
  "use strict";
  function show(figure, tip, bar) {
    tip.textContent = bar.getAttribute("data-tooltip");
    tip.hidden = false;
    var box = figure.getBoundingClientRect();
    var r = bar.getBoundingClientRect();
    var left = Math.min(Math.max(r.left - box.left - 140, 0), Math.max(box.width - 320, 0));
    tip.style.left = left + "px";
    tip.style.top = (r.bottom - box.top + 6) + "px";
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("figure.bars").forEach(function (figure) {
      var tip = document.createElement("div");
      tip.className = "bar-tooltip";
      tip.setAttribute("role", "tooltip");
      tip.id = "tip-" + Math.random().toString(36).slice(2);
      tip.hidden = true;
      figure.appendChild(tip);
      figure.querySelectorAll(".bar").forEach(function (bar) {
        bar.setAttribute("aria-describedby", tip.id);
        ["mouseenter", "focus"].forEach(function (type) {
          bar.addEventListener(type, function () { show(figure, tip, bar); });
        });
        ["mouseleave", "blur"].forEach(function (type) {
          bar.addEventListener(type, function () { tip.hidden = true; });
        });
      });
      figure.addEventListener("keydown", function (event) {
        if (event.key === "Escape") { tip.hidden = true; }
      });
    });
  });
})();
