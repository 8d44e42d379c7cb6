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
      tooltip: { trigger: "axis", valueFormatter: (v) => (v == null ? "无数据" : v.toFixed(1) + "%") },
      xAxis: { type: "category", data: trend.map((t) => t.period) },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: [{ type: "line", connectNulls: false, data: trend.map((t) => t.rates[code]) }],
      grid: { left: 48, right: 16, top: 16, bottom: 32 },
    });
  }
  select.addEventListener("change", draw);
  window.addEventListener("resize", () => chart.resize());
  draw();
})();
