// Progressive enhancement for quiz attempts: answers save as you go, and a countdown shows the
// time left. Without JavaScript the page works the same with its Save and Submit buttons.
(function () {
  "use strict";
  var form = document.querySelector("form.quiz-form[data-autosave]");
  if (!form) { return; }
  var status = form.querySelector(".quiz-status");
  var timer = null;      // a save waiting for the learner to pause
  var inFlight = false;  // one request at a time, so an older save never lands after a newer one
  var again = false;     // something changed while a save was on its way
  var closing = false;   // the form is being submitted or the time is up: no more autosaves

  function say(text, state) {
    if (!status) { return; }
    status.textContent = text;
    status.classList.toggle("quiz-status-saved", state === "saved");
    status.classList.toggle("quiz-status-error", state === "error");
  }

  function clock(date) {
    return date.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  }

  function request(keepalive) {
    var data = new FormData(form);
    data.set("action", "save");
    return fetch(form.getAttribute("data-autosave"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      keepalive: Boolean(keepalive),
      headers: { "X-CSRFToken": data.get("csrf_token") || "", "Accept": "application/json" }
    });
  }

  function save() {
    window.clearTimeout(timer);
    timer = null;
    if (inFlight) { again = true; return; }
    inFlight = true;
    request(false).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (result.body.closed) {
        closing = true;
        say(result.body.message, "error");
        window.location.reload();
      } else if (result.ok) {
        say("Answers saved at " + clock(new Date()) + ".", "saved");
      } else {
        say("Not saved: use the Save answers button.", "error");
      }
    }).catch(function () {
      say("Not saved (offline?): press Save answers when you are back online.", "error");
    }).then(function () {
      inFlight = false;
      if (again && !closing) { again = false; save(); }
    });
  }

  function later(delay) {
    if (closing) { return; }
    window.clearTimeout(timer);
    timer = window.setTimeout(save, delay);
  }

  form.addEventListener("change", function () { later(400); });
  form.addEventListener("input", function (event) {
    if (event.target.tagName === "TEXTAREA" || event.target.type === "text") { later(1500); }
  });
  // The form's own buttons send every answer: no autosave may race them.
  form.addEventListener("submit", function () {
    closing = true;
    window.clearTimeout(timer);
    timer = null;
  });
  // Back here from the next page (the browser's back button keeps this page alive): save again.
  window.addEventListener("pageshow", function (event) { if (event.persisted) { closing = false; } });
  // Back online after a failed save: try again without waiting for the next change.
  window.addEventListener("online", function () {
    if (!closing && status && status.classList.contains("quiz-status-error")) { save(); }
  });
  // Leaving with a save still waiting (a typed answer, then a link): send it on the way out.
  window.addEventListener("pagehide", function () {
    if (timer !== null && !closing) {
      window.clearTimeout(timer);
      timer = null;
      try { request(true); } catch (error) { /* the page is going away */ }
    }
  });

  var deadlineNote = document.querySelector(".quiz-deadline[data-deadline]");
  if (deadlineNote) {
    // The server says how many seconds were left when it sent the page, so a wrong device clock
    // does not move the countdown.
    var secondsLeft = parseInt(deadlineNote.getAttribute("data-seconds-left"), 10);
    var deadline = isNaN(secondsLeft) ? new Date(deadlineNote.getAttribute("data-deadline"))
      : new Date(Date.now() + secondsLeft * 1000);
    if (isNaN(deadline.getTime())) { return; }
    // The server writes the deadline in UTC; the learner reads it in their own time.
    var time = deadlineNote.querySelector("time");
    if (time) { time.textContent = clock(deadline); }
    var countdown = document.createElement("p");
    countdown.className = "quiz-countdown";
    countdown.setAttribute("aria-live", "off");
    var firstQuestion = form.querySelector(".question");
    form.insertBefore(countdown, firstQuestion || form.firstChild);
    var warned = {}, first = true, wasUp = false;
    var tick = function () {
      var left = Math.max(0, Math.round((deadline - new Date()) / 1000));
      var minutes = Math.floor(left / 60), seconds = left % 60;
      countdown.textContent = "Time left: " + minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
      countdown.classList.toggle("quiz-countdown-low", left <= 300);
      // Screen readers hear the time twice, as it runs low (not every second).
      [5, 1].forEach(function (mark) {
        if (left <= mark * 60 && !warned[mark]) {
          warned[mark] = true;
          if (!first && left > 0) { say(mark === 1 ? "One minute left." : mark + " minutes left.", null); }
        }
      });
      if (first) { wasUp = left === 0; }
      first = false;
      if (left === 0) {
        // Time is up by this device's clock. The server decides (it submits the saved answers
        // once the deadline and its grace period are past): save, then reload to hear from it;
        // a page that opens with no time left asks again every 10 s, not in a tight loop.
        countdown.textContent = "Time is up: saving your answers…";
        save();
        window.setTimeout(function () { closing = true; window.location.reload(); }, wasUp ? 10000 : 2000);
        return;
      }
      window.setTimeout(tick, 1000 - (Date.now() % 1000));
    };
    tick();
  }
}());
