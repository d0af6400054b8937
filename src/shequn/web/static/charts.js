/* Chart kinds for the dashboard: window.shequnCharts[KIND](data, dataset) -> ECharts option.
 *
 * app.js finds every <div class="chart" data-chart="KIND" data-source="ID">, parses the
 * <script type="application/json" id="ID"> block and hands the data here. Labels arrive
 * translated in the data. Tooltips are built by our own formatters, which escape every
 * string and colour lines with CSS classes (never style attributes), so the page's
 * Content-Security-Policy can forbid inline styles. Bidi controls are dropped from text
 * drawn into the chart, where they cannot be isolated.
 */
(function () {
  "use strict";

  var COLORS = ["#2f6fed", "#e8833a", "#1a7f4b", "#c4320a", "#b5179e"];
  var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  var BIDI = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  var LOCALE = document.body ? document.body.getAttribute("data-locale") || "en" : "en";

  function esc(value) {
    return String(value).replace(BIDI, "").replace(/[&<>"']/g, function (c) {
      return ESC[c];
    });
  }

  function plain(value) {
    return String(value).replace(BIDI, "");
  }

  function num(v) {
    return v === null || v === undefined ? "–" : Number(v).toLocaleString(LOCALE);
  }

  function pct(v) {
    if (v === null || v === undefined) { return "–"; }
    return (v * 100).toFixed(v > 0 && v < 0.1 ? 1 : 0) + "%";
  }

  function pad(h) {
    return (h < 10 ? "0" : "") + h;
  }

  function head(text) {
    return '<div class="tt-head">' + esc(text) + "</div>";
  }

  function line(colour, name, value) {
    return '<div class="tt-line"><span class="tt-dot tt-c' + colour + '"></span>' +
      esc(name) + '<b class="tt-val">' + esc(value) + "</b></div>";
  }

  function base() {
    return {
      animation: false,
      color: COLORS,
      grid: { left: 8, right: 8, top: 40, bottom: 8, containLabel: true },
      tooltip: { confine: true, className: "tt", borderWidth: 1 },
    };
  }

  /* Lines (or bars) over a category axis: {x, series: [{name, data, axis?, type?, share?}]}.
   * A series with axis 1 reads on a second value axis, so speakers do not lie flat
   * under messages. */
  function trend(d) {
    var option = base();
    var twoAxes = d.series.some(function (s) { return s.axis === 1; });
    option.legend = { top: 0, data: d.series.map(function (s) { return plain(s.name); }) };
    option.tooltip = {
      trigger: "axis",
      confine: true,
      className: "tt",
      formatter: function (params) {
        if (!params.length) { return ""; }
        return head(params[0].axisValue) + params.map(function (p) {
          var s = d.series[p.seriesIndex];
          return line(p.seriesIndex, s.name, s.share ? pct(p.value) : num(p.value));
        }).join("");
      },
    };
    option.xAxis = { type: "category", data: d.x, boundaryGap: d.series.some(function (s) { return s.type === "bar"; }) };
    var shares = d.series.every(function (s) { return s.share; });
    option.yAxis = [{ type: "value", min: 0, splitLine: { lineStyle: { color: "#eef0f4" } } }];
    if (shares) { option.yAxis[0].axisLabel = { formatter: pct }; }
    if (twoAxes) { option.yAxis.push({ type: "value", splitLine: { show: false } }); }
    option.series = d.series.map(function (s) {
      return {
        name: plain(s.name),
        type: s.type || "line",
        data: s.data,
        yAxisIndex: twoAxes && s.axis === 1 ? 1 : 0,
        showSymbol: false,
        barMaxWidth: 10,
        areaStyle: s.area ? { opacity: 0.12 } : undefined,
      };
    });
    return option;
  }

  /* Messages per weekday and hour: {cells: [[hour, weekday, n]], weekdays, golden, max, label}. */
  function heatmap(d) {
    var option = base();
    var hours = [];
    for (var h = 0; h < 24; h++) { hours.push(pad(h)); }
    var golden = {};
    (d.golden || []).forEach(function (g) { golden[g[0] + ":" + g[1]] = true; });
    option.grid = { left: 8, right: 8, top: 8, bottom: 48, containLabel: true };
    option.tooltip = {
      trigger: "item",
      confine: true,
      className: "tt",
      formatter: function (p) {
        var v = p.value;
        return head(d.weekdays[v[1]] + " " + pad(v[0]) + ":00") + line(0, d.label, num(v[2]));
      },
    };
    option.xAxis = { type: "category", data: hours, splitArea: { show: true } };
    option.yAxis = { type: "category", data: d.weekdays.map(plain), inverse: true, splitArea: { show: true } };
    option.visualMap = {
      min: 0,
      max: Math.max(1, d.max),
      calculable: false,
      orient: "horizontal",
      left: "center",
      bottom: 0,
      itemHeight: 120,
      text: [num(d.max), "0"],
      inRange: { color: ["#f1f5fd", "#9dbcf0", "#2f6fed", "#173a80"] },
    };
    option.series = [{
      type: "heatmap",
      data: d.cells.map(function (c) {
        var item = { value: c };
        if (golden[c[0] + ":" + c[1]]) { item.itemStyle = { borderColor: "#e8833a", borderWidth: 2 }; }
        return item;
      }),
      emphasis: { itemStyle: { borderColor: "#111", borderWidth: 1 } },
    }];
    return option;
  }

  /* Retention: {weeks, sizes, offsets, cells: [[k, row, share]], labels: {week, size, offset}}. */
  function cohorts(d) {
    var option = base();
    option.grid = { left: 8, right: 8, top: 8, bottom: 48, containLabel: true };
    option.tooltip = {
      trigger: "item",
      confine: true,
      className: "tt",
      formatter: function (p) {
        var v = p.value;
        return head(d.labels.week + " " + d.weeks[v[1]]) +
          line(0, d.labels.size, num(d.sizes[v[1]])) +
          line(1, d.labels.offset + " " + d.offsets[v[0]], pct(v[2]));
      },
    };
    option.xAxis = { type: "category", data: d.offsets, name: plain(d.labels.offset), nameLocation: "middle", nameGap: 24 };
    option.yAxis = { type: "category", data: d.weeks, inverse: true };
    option.visualMap = {
      min: 0,
      max: 1,
      calculable: false,
      orient: "horizontal",
      left: "center",
      bottom: 0,
      itemHeight: 120,
      text: ["100%", "0%"],
      inRange: { color: ["#f7f9fd", "#9dbcf0", "#1a7f4b"] },
    };
    option.series = [{
      type: "heatmap",
      data: d.cells,
      label: { show: true, formatter: function (p) { return pct(p.value[2]); }, fontSize: 10 },
    }];
    return option;
  }

  window.shequnCharts = Object.assign(window.shequnCharts || {}, {
    trend: trend,
    heatmap: heatmap,
    cohorts: cohorts,
  });
})();
