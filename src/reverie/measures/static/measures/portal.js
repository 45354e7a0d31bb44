// Questionnaires: one question at a time, saving as you go, crisis card at once.
// Progressive enhancement only: without this file the whole form shows and the buttons
// "Send my answers" and "Save and finish later" do everything on the server.
(function () {
  "use strict";

  function checkedValue(fieldset) {
    var input = fieldset.querySelector("input[type=radio]:checked");
    return input ? parseInt(input.value, 10) : null;
  }

  function crisisHit(fieldset) {
    var threshold = fieldset.dataset.criticalThreshold;
    if (threshold === undefined) { return false; }
    var value = checkedValue(fieldset);
    if (value === null) { return false; }
    var limit = parseInt(threshold, 10);
    return fieldset.dataset.criticalDirection === "at_or_below" ? value <= limit : value >= limit;
  }

  function showCrisis(card) {
    if (!card || !card.hidden) { return; }
    card.hidden = false;
    card.scrollIntoView({ block: "start" });
    card.focus();
  }

  function enhance(form) {
    var questions = Array.prototype.slice.call(form.querySelectorAll("fieldset.question"));
    var card = document.getElementById("crisis-card");
    var status = form.querySelector(".save-status");
    var actions = form.querySelector(".form-actions");
    var keyInput = form.querySelector("input[name=key]");
    var saveUrl = form.dataset.saveUrl;
    var timer = null;
    var pending = false;

    function save() {
      window.clearTimeout(timer);
      if (!saveUrl) { return; }
      pending = false;
      var token = form.querySelector("input[name=csrfmiddlewaretoken]");
      if (status) { status.textContent = "Saving…"; }
      fetch(saveUrl, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-CSRFToken": token ? token.value : "", "X-Requested-With": "fetch" },
        credentials: "same-origin"
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (result) {
        if (!result.ok) {
          if (status) { status.textContent = result.body.error || "Not saved: please check your answers."; }
          return;
        }
        if (keyInput && result.body.key) { keyInput.value = result.body.key; }
        if (status) { status.textContent = "Saved at " + result.body.saved_at + "."; }
      }).catch(function () {
        pending = true;
        if (status) { status.textContent = "You seem to be offline. Your answers stay on this page; send them when you are back online."; }
      });
    }

    form.addEventListener("change", function (event) {
      var fieldset = event.target.closest ? event.target.closest("fieldset.question") : null;
      if (!fieldset) { return; }
      if (crisisHit(fieldset)) {
        showCrisis(card);
        save();  // at once: the therapist's alert must not wait for a timer
        return;
      }
      window.clearTimeout(timer);
      pending = true;
      timer = window.setTimeout(save, 800);
    });
    window.addEventListener("pagehide", function () { if (pending) { save(); } });

    // One question at a time, unless the server sent the form back with problems (then
    // every question shows, with its message).
    if (questions.length < 2 || form.querySelector(".has-error") || !actions) { return; }
    var current = 0;
    for (var i = 0; i < questions.length; i++) {
      if (checkedValue(questions[i]) === null) { current = i; break; }
      current = i;
    }
    var nav = document.createElement("div");
    nav.className = "stepper-nav";
    var back = document.createElement("button");
    back.type = "button";
    back.className = "button secondary";
    back.textContent = "Back";
    var progress = document.createElement("p");
    progress.className = "progress";
    progress.setAttribute("aria-live", "polite");
    var next = document.createElement("button");
    next.type = "button";
    next.className = "button";
    next.textContent = "Next";
    nav.appendChild(back);
    nav.appendChild(progress);
    nav.appendChild(next);
    var toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "link-button view-toggle";
    toggle.textContent = "Show all questions on one page";
    questions[questions.length - 1].parentNode.insertBefore(nav, questions[questions.length - 1].nextSibling);
    form.insertBefore(toggle, questions[0]);
    var stepping = true;

    function render(focus) {
      questions.forEach(function (q, index) { q.hidden = stepping && index !== current; });
      nav.hidden = !stepping;
      back.disabled = current === 0;
      var last = current === questions.length - 1;
      next.hidden = last;
      actions.hidden = stepping && !last;
      progress.textContent = "Question " + (current + 1) + " of " + questions.length;
      toggle.textContent = stepping ? "Show all questions on one page" : "Show one question at a time";
      if (focus && stepping) { questions[current].focus(); }
    }
    back.addEventListener("click", function () { if (current > 0) { current -= 1; render(true); } });
    next.addEventListener("click", function () {
      if (current < questions.length - 1) { current += 1; render(true); }
    });
    toggle.addEventListener("click", function () { stepping = !stepping; render(stepping); });
    render(false);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form.measure-form[data-save-url]"), enhance);
  });
})();
