// Item-level instruments (Berg, TCT, Motricity Index) one item at a time on a tablet: Next and
// Back move between items, choosing a score moves on by itself, and the running total is shown.
// Without script every item shows at once and the form works the same.
(function () {
  "use strict";
  const form = document.querySelector("form.entry.stepwise");
  if (!form) return;
  const steps = Array.from(form.querySelectorAll("fieldset.item"));
  const totalLine = form.querySelector(".running-total");
  let current = 0;

  function show(index) {
    current = Math.max(0, Math.min(index, steps.length - 1));
    steps.forEach(function (step, i) { step.hidden = i !== current; });
    const first = steps[current].querySelector("input");
    if (first) first.focus({ preventScroll: true });
    const back = steps[current].querySelector(".step-back");
    if (back) back.disabled = current === 0;
  }

  function total() {
    let sum = 0;
    let answered = 0;
    steps.forEach(function (step) {
      const chosen = step.querySelector("input[type=radio]:checked");
      if (chosen) { sum += Number(chosen.value); answered += 1; }
    });
    if (totalLine) {
      totalLine.textContent = totalLine.dataset.label + ": " + sum + " (" + answered + "/" + steps.length + ")";
    }
  }

  steps.forEach(function (step, i) {
    step.querySelector(".step-next").addEventListener("click", function () { show(i + 1); });
    step.querySelector(".step-back").addEventListener("click", function () { show(i - 1); });
    step.querySelectorAll("input[type=radio]").forEach(function (radio) {
      radio.addEventListener("change", function () {
        total();
        if (i < steps.length - 1) window.setTimeout(function () { show(i + 1); }, 250);
      });
    });
  });
  // A form that came back with a problem opens at the item it names.
  const problem = document.querySelector(".alert[data-field]");
  const named = problem ? problem.dataset.field.replace(/^items\./, "") : "";
  const start = steps.findIndex(function (step) { return step.querySelector("[name='" + named + "']"); });
  total();
  show(start >= 0 ? start : 0);
})();
