/* Polls a running catalog import and shows its progress; reloads the page when it ends. */
(function () {
  var box = document.getElementById("import-progress");
  if (!box) return;
  var bar = document.getElementById("import-bar"), counts = document.getElementById("import-counts");
  function poll() {
    fetch(box.dataset.url, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (d) {
        bar.max = d.total || 1; bar.value = d.processed; bar.textContent = d.percent + "%";
        counts.textContent = d.summary;
        document.getElementById("import-status").textContent = d.status_label;
        if (d.finished) { window.location.reload(); } else { setTimeout(poll, 1500); }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
