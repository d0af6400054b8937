// Small behaviours for the dashboard. No inline script anywhere: pages mark elements
// with data-* attributes and this file gives them life.
(function () {
  "use strict";

  // <form data-autosubmit>: submit when a select or checkbox changes.
  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-autosubmit]");
    if (form && (event.target.tagName === "SELECT" || event.target.type === "checkbox")) {
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    }
  });

  // <button data-confirm="…">: ask before a destructive action.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  // Charts: <div class="chart" data-chart="KIND" data-source="ID"> reads its data from
  // <script type="application/json" id="ID">. Chart kinds live in window.shequnCharts
  // (static/charts.js), so this file stays small.
  function drawCharts(root) {
    if (!window.echarts || !window.shequnCharts) { return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) { return; }
      var source = document.getElementById(el.dataset.source);
      var build = window.shequnCharts[el.dataset.chart];
      if (!source || !build) { return; }
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(build(JSON.parse(source.textContent), el.dataset));
      el.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });
})();
