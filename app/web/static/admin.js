// Draws the usage chart from the figure JSON the page carries (no inline script: CSP).
document.addEventListener("DOMContentLoaded", () => {
  const data = document.getElementById("usage-chart-data");
  const target = document.getElementById("usage-chart");
  if (!data || !target || !window.Plotly) return;
  const figure = JSON.parse(data.textContent);
  window.Plotly.newPlot(target, figure.data, figure.layout, {displaylogo: false, responsive: true});
});
