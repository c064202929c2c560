// Draws the health trends with the vendored uPlot (no inline script: the data is a JSON block).
(function () {
  "use strict";
  var block = document.getElementById("trend-data");
  if (!block || typeof uPlot === "undefined") { return; }
  var data = JSON.parse(block.textContent);
  var palette = ["#0969da", "#8250df", "#bf3989", "#1a7f37", "#9a6700"];
  document.querySelectorAll(".chart[data-series]").forEach(function (el) {
    var key = el.getAttribute("data-series");
    var series = [{}];
    var columns = [data.x];
    if (key === "tables") {
      Object.keys(data.tables).forEach(function (name, i) {
        series.push({ label: name, stroke: palette[i % palette.length], width: 2 });
        columns.push(data.tables[name]);
      });
    } else {
      series.push({ label: el.getAttribute("data-title"), stroke: palette[0], width: 2,
                    fill: "rgba(9,105,218,0.08)" });
      columns.push(data[key]);
    }
    var width = Math.max(300, el.clientWidth - 10);
    new uPlot({ title: el.getAttribute("data-title"), width: width, height: 200, series: series,
                scales: { x: { time: true } } }, columns, el);
    el.setAttribute("data-drawn", "1");
  });
})();
