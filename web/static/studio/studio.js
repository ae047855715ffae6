// Refresh a results page's figures from the JSON API, 15 seconds after the last
// answer came (never piling up requests on a large survey whose figures take long).
// The page is complete without this script: it only keeps the numbers current.
(function () {
  "use strict";
  var REFRESH_MS = 15000;
  var overview = document.querySelector("[data-api]");
  if (!overview || !window.fetch) { return; }

  function percent(rate) { return rate === null ? "\u2013" : Math.round(100 * rate) + "%"; }

  function show(results) {
    var figures = { "completion_rate": percent(results.completion_rate) };
    Object.keys(results.sessions).forEach(function (name) {
      figures["sessions." + name] = results.sessions[name];
    });
    results.questions.forEach(function (q) {
      ["asked", "answered", "skipped", "unanswered", "reprompts", "dropped", "waiting"]
        .forEach(function (name) { figures[q.id + "." + name] = q[name]; });
    });
    document.querySelectorAll("[data-figure]").forEach(function (element) {
      var value = figures[element.getAttribute("data-figure")];
      if (value !== undefined) { element.textContent = String(value); }
    });
  }

  function refresh() {
    fetch(overview.getAttribute("data-api"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (results) { if (results) { show(results); } })
      .catch(function () { /* offline for a moment: keep the figures shown */ })
      .then(function () { window.setTimeout(refresh, REFRESH_MS); });
  }

  window.setTimeout(refresh, REFRESH_MS);
})();
