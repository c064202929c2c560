// Draws the health trends with the vendored uPlot (no inline script: the data is a JSON block).
(function () {
  "use strict";
  var block = document.getElementById("trend-data");
  if (!block || typeof uPlot === "undefined") { return; }
  var data = JSON.parse(block.textContent);
  var palette = ["#0969da", "#8250df", "#bf3989", "#1a7f37", "#9a6700"];
  var bytes = { database_size: true, tables: true, indexes: true };
  function size(v) {
    if (v == null) { return "-"; }
    var units = ["B", "kB", "MB", "GB", "TB"], i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : v.toFixed(0)) + " " + units[i];
  }
  document.querySelectorAll(".chart[data-series]").forEach(function (el) {
    var key = el.getAttribute("data-series");
    var series = [{}];
    var columns = [data.x];
    if (key === "tables" || key === "indexes") {
      Object.keys(data[key]).forEach(function (name, i) {
        series.push({ label: name, stroke: palette[i % palette.length], width: 2 });
        columns.push(data[key][name]);
      });
    } else {
      series.push({ label: el.getAttribute("data-title"), stroke: palette[0], width: 2,
                    fill: "rgba(9,105,218,0.08)" });
      columns.push(data[key]);
    }
    var width = Math.max(300, el.clientWidth - 10);
    var y = bytes[key] ? { size: 70, values: function (u, vals) { return vals.map(size); } } : { size: 50 };
    if (bytes[key]) { series.slice(1).forEach(function (s) { s.value = function (u, v) { return size(v); }; }); }
    new uPlot({ title: el.getAttribute("data-title"), width: width, height: 200, series: series,
                scales: key === "cache_hit" ? { x: { time: true }, y: { range: [0, 100] } } : { x: { time: true } },
                axes: [{}, y] }, columns, el);
    el.setAttribute("data-drawn", "1");
  });
})();
