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
  // A request on its way when the call ended still adds its step, up to VONAGE_API_TIMEOUT later.
  const ENDED_POLL_MS = 2000;
  const ENDED_POLLS = 15;
  // Where the focus goes once the pressed button no longer applies: the one that undoes it, else Call again.
  const NEXT_USEFUL = {
    stop_music: ["play_music", "call_again"],
    play_music: ["stop_music", "call_again"],
    hang_up: ["call_again"],
    say: ["call_again"],
  };
  // A state on its way to the next: an answer about the one still holds in the other.
  const SETTLES_AS = { "stopping the music": "music stopped", answered: "streaming", "hanging up": "hung up" };
  const $ = (id) => document.getElementById(id);
  const forms = [...root.querySelectorAll("form[data-control]")];
  const buttons = Object.fromEntries(forms.map((form) => [form.dataset.control, form.querySelector("button")]));
  let hangUpAt = null; // performance.now() when the hang-up is due
  let timer = null;
  let polling = false;
  let pollAgain = false;
  let asked = 0; // how many polls have been sent
  let askedSinceEnded = 0;
  let busy = false; // a button's request is on its way
  let pressed = null; // the control last pressed, while the focus is on it
  let answered = null; // what the line under the Message box answers: { after: poll, state, ok }
  let shownSteps = []; // a key for each item in the timeline

  // A button that does not apply is aria-disabled, not disabled: it keeps the focus if it has it.
  const applies = (button) => button.getAttribute("aria-disabled") !== "true";
  function offer(button, on) {
    button.disabled = false;
    if (on) button.removeAttribute("aria-disabled");
    else button.setAttribute("aria-disabled", "true");
  }

  function show(view, poll) {
    const headline = $("headline");
    if (headline.textContent !== view.headline) headline.textContent = view.headline;
    headline.className = "headline state-" + view.state.replace(/ /g, "-");
    hangUpAt = view.hang_up_in === null ? null : performance.now() + view.hang_up_in * 1000;
    tick();
    $("failure").hidden = !view.failure;
    if ($("failure").textContent !== (view.failure || "")) $("failure").textContent = view.failure || "";
    offerControls(view.controls);
    keepAnswerTrue(view, poll);
    showSteps(view.steps);
  }

  function offerControls(controls) {
    for (const [name, button] of Object.entries(buttons)) offer(button, !busy && controls[name]);
    if (pressed === null) return;
    if (document.activeElement !== buttons[pressed]) {
      pressed = null; // the person has moved on
    } else if (!applies(buttons[pressed])) {
      const next = NEXT_USEFUL[pressed].map((name) => buttons[name]).find(applies);
      if (next) {
        next.focus();
        pressed = null;
      }
    }
  }

  // A press's answer stays while the call is where the answer left it; once the call has moved
  // on, or has ended after a press that was done, it would be stale.
  function keepAnswerTrue(view, poll) {
    if (answered === null || poll <= answered.after) return;
    const state = SETTLES_AS[view.state] || view.state;
    if (answered.state === null && !(answered.ok && view.ended)) {
      answered.state = state;
    } else if (answered.state !== state) {
      $("said").textContent = "";
      answered = null;
    }
  }

  function tell(text, ok) {
    $("said").textContent = text;
    answered = { after: asked, state: null, ok };
  }

  function showSteps(steps) {
    const list = $("steps");
    const keys = steps.map((step) => JSON.stringify(step));
    let same = 0;
    while (same < keys.length && keys[same] === shownSteps[same]) same += 1;
    while (list.children.length > same) list.lastElementChild.remove();
    for (const step of steps.slice(same)) list.append(stepItem(step));
    shownSteps = keys;
  }

  function stepItem(step) {
    const item = document.createElement("li");
    if (step.folded) {
      item.className = "folded";
      item.textContent = step.what;
      return item;
    }
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
    $("said").textContent = "";
    answered = null;
    hangUpAt = null;
    tick();
    offerControls({ call_again: true });
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
    const thisPoll = ++asked;
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
        show(view, thisPoll);
        if (view.ended) next = ++askedSinceEnded > ENDED_POLLS ? null : ENDED_POLL_MS;
      } else {
        next = UNREACHABLE_POLL_MS;
      }
    } catch (unreachable) {
      $("said").textContent = UNREACHABLE;
      answered = null;
      next = UNREACHABLE_POLL_MS;
    }
    polling = false;
    if (pollAgain) {
      pollAgain = false;
      next = 0;
    }
    if (next !== null) pollIn(next);
  }

  for (const button of Object.values(buttons)) offer(button, !button.disabled);
  for (const form of forms) {
    form.addEventListener("submit", async (event) => {
      const control = form.dataset.control;
      if (!applies(buttons[control])) {
        event.preventDefault();
        return;
      }
      if (control === "call_again") return; // a plain POST: the new call's page follows
      event.preventDefault();
      busy = true;
      pressed = control;
      for (const button of Object.values(buttons)) offer(button, false);
      try {
        const answer = await fetch(form.action, {
          method: "POST",
          headers: { Accept: "application/json" },
          body: new URLSearchParams(new FormData(form)),
        });
        const body = await answer.json().catch(() => ({}));
        tell(body.message || body.error || `The app answered ${answer.status}.`, answer.ok);
        if (answer.ok && control === "say") form.reset();
      } catch (unreachable) {
        tell("Cannot reach the app; nothing was done.", false);
      }
      busy = false;
      poll();
    });
  }

  setInterval(tick, 250);
  if (root.dataset.ended !== "yes") pollIn(POLL_MS);
})();
