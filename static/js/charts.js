/* ECharts on the manager pages. Each chart element names a json_script block (data-source) that the
   server rendered with the figures and their translated labels; no user-facing strings live here. */
(function () {
  "use strict";
  if (!window.echarts) { return; }
  var palette = ["#1f5fbf", "#2e8b57", "#d08a00", "#8e44ad", "#c0392b", "#16a085"];

  function read(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function funnelOption(d, view) {
    var cohort = view === "cohort";
    return {
      color: palette,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 56, top: 36, bottom: 56 },
      xAxis: { type: "category", data: d.stages, axisLabel: { interval: 0, rotate: 20 } },
      yAxis: [{ type: "value", minInterval: 1 }, { type: "value", max: 100, axisLabel: { formatter: "{value} %" } }],
      series: cohort ? [
        { name: d.labels.cohort, type: "bar", data: d.cohort, label: { show: true, position: "top" } },
        { name: d.labels.cohort_share, type: "line", yAxisIndex: 1, data: d.cohort_share }
      ] : [
        { name: d.labels.entered, type: "bar", data: d.entered, label: { show: true, position: "top" } },
        { name: d.labels.quota, type: "scatter", data: d.quota, symbol: "rect", symbolSize: [28, 3] },
        { name: d.labels.conversion, type: "line", yAxisIndex: 1, data: d.conversion, connectNulls: false }
      ]
    };
  }

  function heatmapOption(d) {
    return {
      tooltip: { position: "top" },
      grid: { left: 90, right: 24, top: 16, bottom: 80 },
      xAxis: { type: "category", data: d.stages, splitArea: { show: true }, axisLabel: { interval: 0, rotate: 20 } },
      yAxis: { type: "category", data: d.reps, splitArea: { show: true } },
      visualMap: { min: 0, max: 150, calculable: true, orient: "horizontal", left: "center", bottom: 0,
                   inRange: { color: ["#fbe9e7", "#fff3dc", "#e5f4ea", "#1e7a3c"] }, text: [d.labels.attainment, ""] },
      series: [{ name: d.labels.attainment, type: "heatmap", data: d.heatmap, label: { show: true } }]
    };
  }

  function trendOption(d) {
    return {
      color: palette,
      tooltip: { trigger: "axis" },
      legend: { top: 0, type: "scroll" },
      grid: { left: 40, right: 16, top: 40, bottom: 28 },
      xAxis: { type: "category", data: d.periods },
      yAxis: { type: "value", minInterval: 1 },
      series: d.series.map(function (s) { return { name: s.name, type: "line", data: s.data }; })
    };
  }

  function scorecardOption(d) {
    return {
      color: palette,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 40, right: 16, top: 36, bottom: 56 },
      xAxis: { type: "category", data: d.stages, axisLabel: { interval: 0, rotate: 20 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: d.labels.entered, type: "bar", data: d.entered, label: { show: true, position: "top" } },
        { name: d.labels.quota, type: "bar", data: d.quota }
      ]
    };
  }

  var builders = { funnel: funnelOption, heatmap: heatmapOption, trend: trendOption, scorecard: scorecardOption };

  function init(root) {
    var nodes = (root || document).querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(nodes, function (node) {
      if (node.dataset.ready) { return; }
      var data = read(node.dataset.source);
      var build = builders[node.dataset.chart];
      if (!data || !build) { return; }
      node.dataset.ready = "1";
      var chart = window.echarts.init(node, null, { renderer: "svg" });
      chart.setOption(build(data, node.dataset.view));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.body.addEventListener("htmx:afterSettle", function (event) { init(event.target); });
})();
