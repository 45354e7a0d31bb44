// The fit self-check, worked out in the browser so the answers stay on this device.
//
// The questions, the explanations and the rule come from the server as a JSON data block
// (reverie.directory.selfcheck.client_data); `evaluate` below repeats selfcheck.evaluate
// exactly, and a test runs both on the same answers. Without this script the form posts to
// the server, which works the result out the same way and stores nothing.
(function () {
  "use strict";

  function hasLeaning(item) {
    return item.options.some(function (option) { return option.lean !== null; });
  }

  function findOption(item, value) {
    for (var i = 0; i < item.options.length; i += 1) {
      if (item.options[i].value === value) { return item.options[i]; }
    }
    return null;
  }

  // Same rule as selfcheck.evaluate: answers maps item keys to cleaned answers.
  function evaluate(data, answers) {
    var towards = { psychodynamic: [], structured: [] };
    var neither = 0;
    data.items.forEach(function (item) {
      if (!hasLeaning(item) || !Object.prototype.hasOwnProperty.call(answers, item.key)) { return; }
      var option = findOption(item, answers[item.key]);
      if (option === null) { return; }
      if (option.lean === null) { neither += 1; return; }
      towards[option.lean].push({
        item: item.key,
        answer: option.value,
        lean: option.lean,
        text: "You said: \"" + option.label + "\". " + option.because
      });
    });
    var p = towards.psychodynamic.length;
    var s = towards.structured.length;
    var leaning = "mixed";
    if (p - s >= data.margin) { leaning = "leans psychodynamic"; }
    else if (s - p >= data.margin) { leaning = "leans structured"; }
    return {
      towards_psychodynamic: towards.psychodynamic,
      towards_structured: towards.structured,
      neither_count: neither,
      leaning: leaning,
      headline: data.headlines[leaning],
      meaning: p + s + neither ? data.meanings[leaning] : data.no_answers,
      disclaimer: data.disclaimer,
      show_crisis_card: data.crisis_answers.indexOf(answers.wellbeing) !== -1
    };
  }

  // Read the form into the same shape the server expects; returns {answers, errors}.
  function collect(form, data) {
    var answers = {};
    var errors = [];
    data.items.forEach(function (item) {
      var inputs = form.querySelectorAll("[name='" + item.key + "']");
      if (item.kind === "choice") {
        Array.prototype.forEach.call(inputs, function (input) {
          if (input.checked) { answers[item.key] = input.value; }
        });
      } else if (item.kind === "multi") {
        var chosen = [];
        item.options.forEach(function (option) {
          Array.prototype.forEach.call(inputs, function (input) {
            if (input.checked && input.value === option.value) { chosen.push(option.value); }
          });
        });
        if (chosen.length) { answers[item.key] = chosen; }
      } else if (inputs.length) {
        var raw = inputs[0].value.replace(/\s+/g, " ").trim();
        if (item.kind === "number" && raw !== "") {
          if (!/^\d+$/.test(raw)) {
            errors.push({ key: item.key, text: "Enter a whole number of dollars, such as 80." });
          } else {
            var number = parseInt(raw, 10);
            if ((item.minimum !== null && number < item.minimum) || (item.maximum !== null && number > item.maximum)) {
              errors.push({ key: item.key, text: "Enter an amount between " + item.minimum + " and " + item.maximum + "." });
            } else {
              answers[item.key] = number;
            }
          }
        } else if (raw !== "") {
          if (raw.length > item.max_length) {
            errors.push({ key: item.key, text: "Keep this under " + item.max_length + " characters." });
          } else {
            answers[item.key] = raw;
          }
        }
      }
      if (item.required && !Object.prototype.hasOwnProperty.call(answers, item.key)) {
        errors.push({ key: item.key, text: "Please answer this question; any answer is fine." });
      }
    });
    return { answers: answers, errors: errors };
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function reasonList(heading, reasons, empty) {
    var section = el("section", "card");
    section.appendChild(el("h3", "", heading + " (" + reasons.length + ")"));
    if (!reasons.length) {
      section.appendChild(el("p", "muted", empty));
      return section;
    }
    var list = el("ul", "plain");
    reasons.forEach(function (reason) { list.appendChild(el("li", "", reason.text)); });
    section.appendChild(list);
    return section;
  }

  function showErrors(form, errors) {
    Array.prototype.forEach.call(form.querySelectorAll(".js-error"), function (node) { node.remove(); });
    var summary = document.getElementById("selfcheck-errors");
    summary.textContent = "";
    errors.forEach(function (error) {
      var group = document.getElementById("item-" + error.key);
      if (group) { group.appendChild(el("p", "field-error js-error", error.text)); }
      summary.appendChild(el("p", "", error.text));
    });
    summary.hidden = !errors.length;
    if (errors.length) { summary.focus(); }
  }

  function render(section, result, answers) {
    var template = document.getElementById("selfcheck-result-template");
    section.textContent = "";
    section.appendChild(template.content.cloneNode(true));
    section.querySelector("[data-headline]").textContent = result.headline;
    section.querySelector("[data-meaning]").textContent = result.meaning;
    section.querySelector("[data-disclaimer]").textContent = result.disclaimer;
    section.querySelector("[data-crisis]").hidden = !result.show_crisis_card;
    var reasons = section.querySelector("[data-reasons]");
    reasons.appendChild(reasonList(
      "Answers that point towards psychodynamic therapy", result.towards_psychodynamic,
      "None of your answers pointed this way."));
    reasons.appendChild(reasonList(
      "Answers that point towards a structured approach such as CBT", result.towards_structured,
      "None of your answers pointed this way."));
    section.querySelector("[data-neither]").textContent = result.neither_count === 1
      ? "1 answer pointed neither way."
      : result.neither_count + " answers pointed neither way.";
    var json = JSON.stringify(answers);
    Array.prototype.forEach.call(section.querySelectorAll("input[name=selfcheck]"), function (input) {
      input.value = json;
    });
    section.hidden = false;
    // The result sits above a long form: on a phone the person would otherwise see nothing
    // happen. Bring its top (the crisis card, when it applies, comes first) to the top of
    // the screen, then move focus there without a second scroll.
    var crisis = section.querySelector("[data-crisis]");
    var first = crisis && !crisis.hidden ? crisis : section;
    first.scrollIntoView({ block: "start" });
    section.focus({ preventScroll: true });
  }

  function start() {
    var form = document.getElementById("selfcheck-form");
    var dataNode = document.getElementById("selfcheck-data");
    if (!form || !dataNode) { return; }
    var data = JSON.parse(dataNode.textContent);
    var section = document.getElementById("selfcheck-result");
    var liveCard = document.getElementById("selfcheck-crisis-now");

    // A risk answer shows the crisis card at once, before the form is finished.
    Array.prototype.forEach.call(form.querySelectorAll("[name=wellbeing]"), function (input) {
      input.addEventListener("change", function () {
        if (liveCard) { liveCard.hidden = data.crisis_answers.indexOf(input.value) === -1; }
      });
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var collected = collect(form, data);
      showErrors(form, collected.errors);
      if (collected.errors.length) { return; }
      render(section, evaluate(data, collected.answers), collected.answers);
      // The result carries its own crisis card; one on the page is enough.
      if (liveCard) { liveCard.hidden = true; }
    });
    form.dataset.evaluatesLocally = "true";
  }

  if (typeof module === "object" && module.exports) {
    module.exports = { evaluate: evaluate };
  } else {
    window.ReverieSelfCheck = { evaluate: evaluate };
    document.addEventListener("DOMContentLoaded", start);
  }
})();
