// Progressive enhancement for quiz attempts: answers save as you go, and a countdown shows the
// time left. Without JavaScript the page works the same with its Save and Submit buttons.
(function () {
  "use strict";
  var form = document.querySelector("form.quiz-form[data-autosave]");
  if (!form) { return; }
  var status = form.querySelector(".quiz-status");
  var timer = null;

  function say(text) { if (status) { status.textContent = text; } }

  function save() {
    var data = new FormData(form);
    data.set("action", "save");
    fetch(form.getAttribute("data-autosave"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": data.get("csrf_token") || "" }
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (result.body.closed) {
        say(result.body.message);
        window.location.reload();
      } else if (result.ok) {
        say("Saved at " + new Date().toLocaleTimeString() + ".");
      } else {
        say("Not saved: use the Save answers button.");
      }
    }).catch(function () { say("Offline: your answers will be saved when you press Save answers."); });
  }

  form.addEventListener("change", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(save, 400);
  });
  form.addEventListener("input", function (event) {
    if (event.target.tagName === "TEXTAREA" || event.target.type === "text") {
      window.clearTimeout(timer);
      timer = window.setTimeout(save, 1500);
    }
  });

  var deadlineNote = document.querySelector(".quiz-deadline[data-deadline]");
  if (deadlineNote) {
    var deadline = new Date(deadlineNote.getAttribute("data-deadline"));
    var clock = document.createElement("p");
    clock.className = "quiz-countdown";
    clock.setAttribute("aria-live", "off");
    deadlineNote.appendChild(clock);
    var tick = function () {
      var left = Math.max(0, Math.round((deadline - new Date()) / 1000));
      var minutes = Math.floor(left / 60), seconds = left % 60;
      clock.textContent = "Time left: " + minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
      if (left === 0) { save(); window.setTimeout(function () { window.location.reload(); }, 2000); return; }
      window.setTimeout(tick, 1000);
    };
    tick();
  }
}());
