// The call's page: asks the app what it knows twice a second and shows it; the buttons
// ask it to act. Without this script the page still shows the call as it was loaded,
// and the buttons still work as plain forms.
"use strict";

(() => {
  const root = document.getElementById("call");
  if (!root || !document.getElementById("headline")) return;
  const POLL_MS = 500;
  const UNREACHABLE_POLL_MS = 1000;
  const UNREACHABLE = "Cannot reach the app; trying again.";
  const $ = (id) => document.getElementById(id);
  const forms = [...root.querySelectorAll("form[data-control]")];
  let hangUpAt = null; // performance.now() when the hang-up is due
  let timer = null;
  let polling = false;
  let pollAgain = false;
  let busy = false; // a button's request is on its way

  function show(view) {
    const headline = $("headline");
    if (headline.textContent !== view.headline) headline.textContent = view.headline;
    headline.className = "headline state-" + view.state.replace(/ /g, "-");
    hangUpAt = view.hang_up_in === null ? null : performance.now() + view.hang_up_in * 1000;
    tick();
    $("failure").hidden = !view.failure;
    if ($("failure").textContent !== (view.failure || "")) $("failure").textContent = view.failure || "";
    for (const form of forms) form.querySelector("button").disabled = busy || !view.controls[form.dataset.control];
    const steps = $("steps");
    for (const step of view.steps.slice(steps.children.length)) steps.append(stepItem(step));
  }

  function stepItem(step) {
    const item = document.createElement("li");
    if (step.failure) item.className = "failed";
    const parts = [["at", step.at], ["after", step.after], ["what", step.what], ["took", step.took], ["why", step.failure]];
    for (const [name, text] of parts) {
      if (!text) continue;
      const span = document.createElement("span");
      span.className = name;
      span.textContent = text;
      item.append(span, " ");
    }
    return item;
  }

  function tick() {
    $("countdown").hidden = hangUpAt === null;
    if (hangUpAt !== null) {
      $("seconds-left").textContent = String(Math.max(0, Math.ceil((hangUpAt - performance.now()) / 1000)));
    }
  }

  function notTracked(why) {
    $("headline").textContent = why;
    $("headline").className = "headline state-ended";
    hangUpAt = null;
    tick();
    for (const form of forms) form.querySelector("button").disabled = form.dataset.control !== "call_again";
  }

  function pollIn(ms) {
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  async function poll() {
    if (polling) {
      pollAgain = true;
      return;
    }
    polling = true;
    let next = POLL_MS;
    try {
      const answer = await fetch(root.dataset.stateUrl, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (answer.status === 404 || answer.status === 403) {
        const said = answer.status === 403 ? " " + ((await answer.json().catch(() => ({}))).error || "") : "";
        notTracked(root.dataset.restarted + said);
        next = null;
      } else if (answer.ok) {
        const view = await answer.json();
        if ($("said").textContent === UNREACHABLE) $("said").textContent = "";
        show(view);
        if (view.ended) next = null;
      } else {
        next = UNREACHABLE_POLL_MS;
      }
    } catch (unreachable) {
      $("said").textContent = UNREACHABLE;
      next = UNREACHABLE_POLL_MS;
    }
    polling = false;
    if (pollAgain) {
      pollAgain = false;
      next = 0;
    }
    if (next !== null) pollIn(next);
  }

  for (const form of forms) {
    if (form.dataset.control === "call_again") continue; // a plain POST: the new call's page follows
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      busy = true;
      for (const other of forms) other.querySelector("button").disabled = true;
      try {
        const answer = await fetch(form.action, {
          method: "POST",
          headers: { Accept: "application/json" },
          body: new URLSearchParams(new FormData(form)),
        });
        const body = await answer.json().catch(() => ({}));
        $("said").textContent = body.message || body.error || `The app answered ${answer.status}.`;
        if (answer.ok && form.dataset.control === "say") form.reset();
      } catch (unreachable) {
        $("said").textContent = "Cannot reach the app; nothing was done.";
      }
      busy = false;
      poll();
    });
  }

  setInterval(tick, 250);
  if (root.dataset.ended !== "yes") pollIn(POLL_MS);
})();
