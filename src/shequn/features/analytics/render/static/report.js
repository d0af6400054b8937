/* Draws the health report's charts from the JSON blocks on the page.
 *
 * Every chart reads its data with JSON.parse(textContent) from a
 * <script type="application/json"> block, never from code, so no string that came
 * from chat is ever part of a script. Group names and terms reach ECharts only as
 * canvas text or through tooltip formatters that escape them, because ECharts puts
 * tooltip strings into the page as HTML. Tooltip colours are CSS classes, not style
 * attributes, so the page's Content-Security-Policy can stay strict about styles.
 */
(function () {
  "use strict";

  var COLORS = ["#2f6fdf", "#e8833a", "#2a9d8f", "#b5179e"];
  var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  var BIDI = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function esc(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return ESC[c];
    });
  }

  /* Canvas text cannot isolate bidi controls the way <bdi> does: drop them. */
  function plain(value) {
    return String(value).replace(BIDI, "");
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole;
    });
  }

  var L = data("report-labels");
  /* Canvas text does not inherit CSS fonts: hand the page's font stack over. */
  var FONT = window.getComputedStyle(document.body).fontFamily;

  function num(v) {
    return v === null || v === undefined ? "–" : Number(v).toLocaleString(L.locale);
  }

  function pct(v) {
    if (v === null || v === undefined) return "–";
    return (v * 100).toFixed(v > 0 && v < 0.1 ? 1 : 0) + "%";
  }

  function pad(h) {
    return (h < 10 ? "0" : "") + h;
  }

  function line(colorIndex, name, value) {
    return (
      '<div class="tt-line"><span class="tt-dot tt-c' + colorIndex + '"></span>' +
      esc(name) + '<b class="tt-val">' + esc(value) + "</b></div>"
    );
  }

  function head(text) {
    return '<div class="tt-head">' + esc(text) + "</div>";
  }

  function base() {
    return {
      animation: false,
      color: COLORS,
      textStyle: { fontFamily: FONT },
      grid: { left: 8, right: 8, top: 40, bottom: 8, containLabel: true },
      tooltip: { confine: true, className: "tt", borderWidth: 1 },
    };
  }

  function seriesTooltip(format, headTemplate, key) {
    return {
      trigger: "axis",
      confine: true,
      className: "tt",
      formatter: function (params) {
        var first = params[0];
        var values = {};
        values[key] = first.axisValue;
        return head(fill(headTemplate, values)) + params.map(function (p) {
          return line(p.seriesIndex, p.seriesName, format[p.seriesIndex](p.value));
        }).join("");
      },
    };
  }

  function daily(d) {
    var option = base();
    option.legend = { top: 0, data: [L.series.messages, L.series.speakers] };
    option.tooltip = seriesTooltip([num, num], L.tooltip.day, "day");
    option.xAxis = { type: "category", data: d.days, boundaryGap: false };
    option.yAxis = [
      { type: "value", name: "", splitLine: { lineStyle: { color: "#eef0f4" } } },
      { type: "value", name: "", splitLine: { show: false } },
    ];
    option.series = [
      { name: L.series.messages, type: "line", data: d.messages, showSymbol: false, areaStyle: { opacity: 0.12 } },
      { name: L.series.speakers, type: "line", data: d.speakers, showSymbol: false, yAxisIndex: 1 },
    ];
    return option;
  }

  /* Counts on top, shares below: on one axis the speakers line would lie flat. */
  function weekly(d) {
    var option = base();
    var names = [L.series.messages, L.series.speakers, L.series.speaker_ratio, L.series.leader_share];
    var split = { lineStyle: { color: "#eef0f4" } };
    option.legend = { top: 0, data: names };
    option.grid = [
      { left: 8, right: 8, top: 40, height: "46%", containLabel: true },
      { left: 8, right: 8, bottom: 8, height: "26%", containLabel: true },
    ];
    option.axisPointer = { link: [{ xAxisIndex: "all" }] };
    option.tooltip = seriesTooltip([num, num, pct, pct], L.tooltip.week, "week");
    option.xAxis = [
      { type: "category", data: d.weeks, gridIndex: 0, axisLabel: { show: false } },
      { type: "category", data: d.weeks, gridIndex: 1 },
    ];
    option.yAxis = [
      { type: "value", gridIndex: 0, splitLine: split },
      { type: "value", gridIndex: 0, splitLine: { show: false } },
      { type: "value", gridIndex: 1, min: 0, axisLabel: { formatter: pct }, splitNumber: 2, splitLine: split },
    ];
    var partial = d.weeks.filter(function (w, i) {
      return d.partial[i];
    });
    var bars = {
      name: names[0],
      type: "bar",
      barMaxWidth: 22,
      itemStyle: { opacity: 0.75 },
      data: d.messages.map(function (v, i) {
        return d.partial[i] ? { value: v, itemStyle: { opacity: 0.3 } } : v;
      }),
    };
    /* The week still running is shaded: its low bar is not a collapse. */
    if (partial.length) {
      bars.markArea = {
        silent: true,
        itemStyle: { color: "rgba(95, 104, 120, 0.08)" },
        label: { show: true, position: "insideTop", color: "#5f6878", formatter: L.partial_week },
        data: [[{ xAxis: partial[0] }, { xAxis: partial[partial.length - 1] }]],
      };
    }
    option.series = [
      bars,
      { name: names[1], type: "line", data: d.speakers, yAxisIndex: 1 },
      { name: names[2], type: "line", data: d.speaker_ratio, xAxisIndex: 1, yAxisIndex: 2 },
      {
        name: names[3], type: "line", data: d.leader_share, xAxisIndex: 1, yAxisIndex: 2,
        lineStyle: { type: "dashed" },
      },
    ];
    return option;
  }

  function scoreColor(score, declining) {
    if (declining || score < 40) return "#d64545";
    return score < 70 ? "#e0a020" : "#2a9d6f";
  }

  function scores(d, el) {
    el.style.height = Math.max(120, d.names.length * 30 + 40) + "px";
    var option = base();
    option.grid.top = 8;
    option.grid.right = 40;
    option.grid.left = 16;
    option.tooltip = {
      trigger: "item",
      confine: true,
      className: "tt",
      formatter: function (p) {
        return head(d.names[p.dataIndex]) + line(0, L.series.score, String(p.value));
      },
    };
    option.xAxis = { type: "value", min: 0, max: 100 };
    option.yAxis = {
      type: "category",
      inverse: true,
      data: d.names.map(plain),
      axisLabel: { width: Math.min(180, Math.round(el.clientWidth * 0.35)), overflow: "truncate" },
    };
    option.series = [{
      name: L.series.score,
      type: "bar",
      barMaxWidth: 18,
      label: { show: true, position: "right" },
      data: d.scores.map(function (s, i) {
        return { value: s, itemStyle: { color: scoreColor(s, d.declining[i]) } };
      }),
    }];
    return option;
  }

  function heatmap(d) {
    var option = base();
    var hours = [];
    for (var h = 0; h < 24; h++) hours.push(pad(h));
    var golden = {};
    d.golden.forEach(function (g) {
      golden[g[0] + ":" + g[1]] = true;
    });
    option.grid = { left: 8, right: 8, top: 8, bottom: 48, containLabel: true };
    option.tooltip = {
      trigger: "item",
      confine: true,
      className: "tt",
      formatter: function (p) {
        var v = p.value;
        return head(fill(L.tooltip.slot, { weekday: L.weekdays[v[1]], hour: pad(v[0]) })) +
          line(0, fill(L.tooltip.messages, { messages: num(v[2]) }), "");
      },
    };
    option.xAxis = { type: "category", data: hours, splitArea: { show: true } };
    option.yAxis = { type: "category", data: L.weekdays, inverse: true, splitArea: { show: true } };
    option.visualMap = {
      min: 0,
      max: Math.max(1, d.max),
      calculable: false,
      orient: "horizontal",
      left: "center",
      bottom: 0,
      itemHeight: 120,
      text: [num(d.max), "0"],
      inRange: { color: ["#f1f5fd", "#9dbcf0", "#2f6fdf", "#173a80"] },
    };
    option.series = [{
      type: "heatmap",
      data: d.cells.map(function (c) {
        var item = { value: c };
        if (golden[c[0] + ":" + c[1]]) item.itemStyle = { borderColor: "#e8833a", borderWidth: 2 };
        return item;
      }),
      emphasis: { itemStyle: { borderColor: "#111", borderWidth: 1 } },
    }];
    return option;
  }

  var builders = { daily: daily, weekly: weekly, scores: scores, heatmap: heatmap };
  var charts = [];

  Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), function (el) {
    var build = builders[el.getAttribute("data-chart")];
    var d = data(el.getAttribute("data-source"));
    if (!build || !d) return;
    var option = build(d, el);
    var chart = echarts.init(el, null, { renderer: "canvas", locale: L.echarts_locale });
    chart.setOption(option);
    charts.push(chart);
  });

  function resize() {
    charts.forEach(function (chart) {
      chart.resize();
    });
  }

  window.addEventListener("resize", resize);
  window.addEventListener("beforeprint", resize);
  window.addEventListener("afterprint", resize);
})();
