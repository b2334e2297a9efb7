// The dashboard's stage-time chart: figures come from the json_script
// element the server renders (the same figures as the table beside it).
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("stage-times-data");
    var canvas = document.getElementById("stage-times-chart");
    if (!source || !canvas || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Range (min–max)", data: data.range, backgroundColor: "rgba(1, 114, 173, 0.2)", grouped: false, barPercentage: 0.6 },
          { label: "Middle half (25th–75th pct.)", data: data.middle, backgroundColor: "rgba(1, 114, 173, 0.6)", grouped: false, barPercentage: 0.35 },
          { label: "Median", type: "line", data: data.median, showLine: false, pointStyle: "line", pointRadius: 14, pointBorderWidth: 3, borderColor: "#c62828", backgroundColor: "#c62828" }
        ]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: "x",
        scales: { y: { beginAtZero: true, title: { display: true, text: "days from found" } } },
        plugins: {
          tooltip: {
            callbacks: {
              afterTitle: function (items) {
                return items.length ? data.cases[items[0].dataIndex] + " cases" : "";
              }
            }
          }
        }
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
