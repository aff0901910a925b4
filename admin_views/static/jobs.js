/* Background jobs: refresh each live progress bar from its job's JSON every 1.5 s, and reload
   the page once the job has finished, so its report shows (issue 13). No inline script: the
   CSP allows only this site's files. */
(function () {
  "use strict";
  var bars = document.querySelectorAll('.job-progress[data-live="1"]');
  if (!bars.length || !window.fetch) { return; }
  function poll(bar) {
    var url = bar.getAttribute("data-job-url");
    var progress = bar.querySelector("progress");
    var words = bar.querySelector(".job-progress-words");
    window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        progress.max = data.total || 1;
        progress.value = data.total ? data.done : (data.finished ? 1 : 0);
        progress.textContent = data.percent + "%";
        words.textContent = data.words;
        if (data.finished) {
          bar.setAttribute("data-live", "0");
          window.location.reload();
          return;
        }
        window.setTimeout(function () { poll(bar); }, 1500);
      })
      .catch(function () { window.setTimeout(function () { poll(bar); }, 5000); });
  }
  bars.forEach(function (bar) { window.setTimeout(function () { poll(bar); }, 1500); });
})();
