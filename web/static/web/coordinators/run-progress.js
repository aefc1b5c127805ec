// Assignment run progress: poll the run's JSON every two seconds and move the bar; reload when it is done.
// Without JavaScript the page refreshes itself instead (<noscript><meta http-equiv="refresh">).
(function () {
  var box = document.getElementById("run-progress");
  if (!box || box.dataset.working !== "1") return;
  var bar = document.getElementById("run-bar"), state = document.getElementById("run-state"),
      message = document.getElementById("run-message");
  function poll() {
    fetch(box.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (run) {
        bar.value = run.progress; bar.textContent = run.progress + "%";
        state.textContent = run.state_label; message.textContent = run.progress + "% · " + run.message;
        if (run.done) { window.location.reload(); } else { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
