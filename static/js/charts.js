// Charts of the console (UI-1, docs/frontend.md "Charts"): every <div data-chart="ID"> is drawn
// with the vendored Apache ECharts from the JSON data block <script type="application/json"
// id="ID"> that `{% chart %}` (tenants/templatetags/portal_ui.py) writes beside it. The spec is
// data only — no functions, no HTML — so the CSP stays strict:
//   {"kind": "line" | "bar" | "stacked", "x": [labels], "horizontal": false,
//    "series": [{"name": "…", "data": [n | null, …], "tone": "green" | "orange" | "red" | …}],
//    "suppressed": "< 5"}   // shown in the tooltip where a value is null (minimum group size)
// The figures behind every chart are also in a table on the same page; the chart is a picture of it.
(function () {
  var TONES = {
    blue: "#066fd1", green: "#2fb344", orange: "#f76707", red: "#d63939", yellow: "#f59f00",
    purple: "#ae3ec9", cyan: "#17a2b8", gray: "#8a94a6", teal: "#0ca678", indigo: "#4263eb",
  };
  function options(spec) {
    var horizontal = !!spec.horizontal;
    var category = { type: "category", data: spec.x || [], axisTick: { alignWithLabel: true },
                     axisLabel: { hideOverlap: true } };
    var value = { type: "value", minInterval: 1 };
    var suppressed = spec.suppressed || "";
    return {
      aria: { enabled: false },  // the element carries its own label (role="img"); the table holds the figures
      animation: false,
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      legend: { top: 0, type: "scroll" },
      tooltip: {
        trigger: "axis", confine: true,
        valueFormatter: function (v) { return v === null || v === undefined || v === "-" ? suppressed : String(v); },
      },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: (spec.series || []).map(function (s) {
        return {
          name: s.name,
          type: spec.kind === "line" ? "line" : "bar",
          stack: spec.kind === "stacked" ? "total" : undefined,
          data: s.data,
          connectNulls: false,
          smooth: false,
          showSymbol: (spec.x || []).length <= 31,
          itemStyle: s.tone && TONES[s.tone] ? { color: TONES[s.tone] } : undefined,
          barMaxWidth: 28,
        };
      }),
    };
  }
  function draw(element) {
    if (!window.echarts || element.getAttribute("data-chart-drawn")) {
      return;
    }
    var source = document.getElementById(element.getAttribute("data-chart"));
    if (!source) {
      return;
    }
    var spec = JSON.parse(source.textContent);
    var lang = (document.documentElement.lang || "").toLowerCase();
    var chart = window.echarts.init(element, null, { renderer: "svg", locale: lang.indexOf("zh") === 0 ? "ZH" : "EN" });
    chart.setOption(options(spec));
    element.setAttribute("data-chart-drawn", "1");
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function drawAll() {
    document.querySelectorAll("[data-chart]").forEach(draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
  document.addEventListener("htmx:afterSettle", drawAll);
})();
