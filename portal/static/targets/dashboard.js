// Trend of one indicator across periods for the region on the page (ECharts, vendored).
(function () {
  const holder = document.getElementById("trend-chart");
  const dataNode = document.getElementById("trend-data");
  if (!holder || !dataNode || typeof echarts === "undefined") return;
  const trend = JSON.parse(dataNode.textContent);
  const chart = echarts.init(holder);
  const select = document.getElementById("trend-indicator");
  function draw() {
    const code = select.value;
    chart.setOption({
      tooltip: { trigger: "axis", valueFormatter: (v) => {
        const y = Array.isArray(v) ? v[1] : v;
        return y == null ? "无数据" : y.toFixed(1) + "%";
      } },
      // Real time: each half-year at its end date, so a missing period leaves its gap.
      xAxis: { type: "time", axisLabel: { formatter: "{yyyy}-{MM}" } },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: [{ type: "line", connectNulls: false, data: trend.map((t) => [t.date, t.rates[code]]),
                 name: "", encode: { x: 0, y: 1 } }],
      grid: { left: 48, right: 16, top: 16, bottom: 32 },
    });
  }
  select.addEventListener("change", draw);
  window.addEventListener("resize", () => chart.resize());
  draw();
})();
