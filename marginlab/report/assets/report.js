// marginlab HTML reports: draws the charts (Chart.js, inlined above) and makes every table sortable and
// filterable, from the page's data (the JSON block #page-data). Nothing is fetched.
(function () {
  "use strict";
  var page = JSON.parse(document.getElementById("page-data").textContent);
  var PAGE_ROWS = 100;

  function drawCharts() {
    var drawn = 0;
    page.charts.forEach(function (c) {
      var canvas = document.getElementById("chart-" + c.id);
      if (!canvas || typeof Chart === "undefined") return;
      var config = c.config;
      config.options = config.options || {};
      config.options.animation = false;
      config.options.responsive = true;
      config.options.maintainAspectRatio = false;
      if (c.legendLimit && config.data.datasets.length > c.legendLimit) {
        // many sub-accounts: name the first few and the reference lines; hover still names every line
        var limit = c.legendLimit;
        config.options.plugins = config.options.plugins || {};
        config.options.plugins.legend = config.options.plugins.legend || {};
        config.options.plugins.legend.labels = {
          filter: function (item, data) {
            return item.datasetIndex < limit || !!data.datasets[item.datasetIndex].reference;
          }
        };
      }
      new Chart(canvas, config);
      canvas.dataset.rendered = "true";
      drawn += 1;
    });
    document.body.dataset.chartsRendered = String(drawn);
  }

  function sortKey(text, numeric) {
    if (!numeric) return String(text).toLowerCase();
    if (text === "" || text === null || text === undefined) return -Infinity;
    if (text === "\u221e") return Infinity;
    var n = Number(String(text).replace(/[,%\s]/g, ""));
    return isNaN(n) ? -Infinity : n;
  }

  function setupTable(spec) {
    var table = document.getElementById("table-" + spec.id);
    if (!table) return;
    var tbody = table.tBodies[0];
    var filter = document.getElementById("filter-" + spec.id);
    var info = document.getElementById("info-" + spec.id);
    var prev = document.getElementById("prev-" + spec.id);
    var next = document.getElementById("next-" + spec.id);
    var rows = spec.rows.map(function (r, i) { return { cells: r, index: i, text: r.join("\u0001").toLowerCase() }; });
    var shown = rows;
    var pageNo = 0;
    var sortCol = -1;
    var sortDir = 1;

    function render() {
      var pages = Math.max(1, Math.ceil(shown.length / PAGE_ROWS));
      pageNo = Math.min(pageNo, pages - 1);
      var start = pageNo * PAGE_ROWS;
      var slice = shown.slice(start, start + PAGE_ROWS);
      var frag = document.createDocumentFragment();
      slice.forEach(function (row) {
        var tr = document.createElement("tr");
        row.cells.forEach(function (cell, j) {
          var td = document.createElement("td");
          td.textContent = cell;
          var col = spec.columns[j];
          if (col.numeric) td.className = "num";
          else if (col.wrap) td.className = "wrap";
          tr.appendChild(td);
        });
        frag.appendChild(tr);
      });
      tbody.replaceChildren(frag);
      table.dataset.total = String(rows.length);
      table.dataset.shown = String(shown.length);
      info.textContent = shown.length === 0 ? "no rows" :
        "rows " + (start + 1) + "\u2013" + (start + slice.length) + " of " + shown.length +
        (shown.length !== rows.length ? " (filtered from " + rows.length + ")" : "");
      prev.disabled = pageNo === 0;
      next.disabled = pageNo >= pages - 1;
    }

    function apply() {
      var terms = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      shown = rows.filter(function (r) { return terms.every(function (t) { return r.text.indexOf(t) >= 0; }); });
      if (sortCol >= 0) {
        var numeric = spec.columns[sortCol].numeric;
        shown = shown.slice().sort(function (a, b) {
          var x = sortKey(a.cells[sortCol], numeric), y = sortKey(b.cells[sortCol], numeric);
          return x < y ? -sortDir : x > y ? sortDir : a.index - b.index;
        });
      }
      render();
    }

    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, j) {
      th.addEventListener("click", function () {
        sortDir = sortCol === j ? -sortDir : 1;
        sortCol = j;
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
        pageNo = 0;
        apply();
      });
    });
    filter.addEventListener("input", function () { pageNo = 0; apply(); });
    prev.addEventListener("click", function () { pageNo -= 1; render(); });
    next.addEventListener("click", function () { pageNo += 1; render(); });
    apply();
  }

  drawCharts();
  page.tables.forEach(setupTable);
  document.body.dataset.ready = "true";
})();
