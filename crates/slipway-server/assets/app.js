// Slipway's UI script: live board updates and double-submit protection.
// Pages work without it. It never inserts text as HTML: the board is
// replaced by the server's own escaped rendering, parsed as a document.
"use strict";

(function () {
  // A form is sent once: its button is disabled on submit.
  document.addEventListener("submit", function (event) {
    var buttons = event.target.querySelectorAll("button[type=submit]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].disabled = true;
    }
  });

  var board = document.getElementById("board");
  if (!board || !window.EventSource) {
    return;
  }
  var url = board.getAttribute("data-live");
  var inFlight = false;
  var pending = false;
  var last = 0;

  function refresh() {
    if (inFlight) {
      pending = true;
      return;
    }
    var wait = Math.max(0, last + 1000 - Date.now());
    inFlight = true;
    setTimeout(function () {
      last = Date.now();
      fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("status " + response.status);
          }
          return response.text();
        })
        .then(function (text) {
          var doc = new DOMParser().parseFromString(text, "text/html");
          var fresh = doc.getElementById("board");
          var current = document.getElementById("board");
          if (fresh && current) {
            current.replaceWith(document.adoptNode(fresh));
          }
        })
        .catch(function () {
          stopped();
        })
        .finally(function () {
          inFlight = false;
          if (pending) {
            pending = false;
            refresh();
          }
        });
    }, wait);
  }

  function stopped() {
    var banner = document.getElementById("live");
    if (banner) {
      banner.hidden = false;
    }
  }

  var events = new EventSource("/api/v1/events");
  events.addEventListener("task", refresh);
  events.addEventListener("error", function () {
    if (events.readyState === EventSource.CLOSED) {
      stopped();
    }
  });
  window.addEventListener("pagehide", function () {
    events.close();
  });
})();
