// An album's tracks play one after the other, and one at a time.
// Each `[data-playlist]` holds its <audio> elements in track order; without
// this script every player still works on its own.
(function () {
  "use strict";
  function wire(list) {
    var players = Array.prototype.slice.call(list.querySelectorAll("audio"));
    players.forEach(function (player, index) {
      player.addEventListener("play", function () {
        document.querySelectorAll("audio").forEach(function (other) {
          if (other !== player && !other.paused) other.pause();
        });
        list.querySelectorAll("[data-now-playing]").forEach(function (row) {
          row.removeAttribute("data-now-playing");
        });
        var row = player.closest("li");
        if (row) row.setAttribute("data-now-playing", "");
      });
      player.addEventListener("ended", function () {
        var next = players[index + 1];
        if (!next) return;
        next.preload = "auto";
        var started = next.play();
        // A browser that refuses to start without a click leaves the next player ready.
        if (started && started.catch) started.catch(function () {});
      });
    });
  }
  function start() {
    document.querySelectorAll("[data-playlist]").forEach(wire);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
