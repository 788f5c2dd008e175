// The review queue: j/k move between the events, Enter opens one, x selects it, a selects all, c confirms
// the selection (after asking); a clip previews while the pointer rests on its card, while the card is
// the current one, or after a tap on its ▶ button. Coming back from an event, its card is the current one.
"use strict";

(() => {
  const cards = [...document.querySelectorAll(".cards .card")];
  const form = document.getElementById("batch");
  const all = document.getElementById("select-all");
  const count = document.getElementById("selected-n");
  const buttons = form ? [...form.querySelectorAll("button[name=action]")] : [];
  const boxes = cards.map((card) => card.querySelector(".pick input"));
  let current = -1;

  function startPreview(card) {
    if (!card.dataset.clip || card.querySelector("video.preview-clip")) return;
    const video = document.createElement("video");
    video.className = "preview-clip";
    video.muted = true;
    video.loop = true;
    video.playsInline = true;
    video.preload = "auto";
    video.setAttribute("aria-hidden", "true");
    video.src = card.dataset.clip;
    card.querySelector(".thumb").append(video);
    video.play().catch(() => {});  // a browser may refuse autoplay; the snapshot stays
    card.classList.add("previewing");
  }

  function stopPreview(card) {
    const video = card.querySelector("video.preview-clip");
    if (!video) return;
    video.pause();
    video.removeAttribute("src");
    video.load();  // let go of the connection
    video.remove();
    card.classList.remove("previewing");
  }

  function setCurrent(index) {
    if (!cards.length) return;
    index = Math.max(0, Math.min(cards.length - 1, index));
    if (current >= 0 && current !== index) {
      cards[current].classList.remove("current");
      stopPreview(cards[current]);
    }
    current = index;
    const card = cards[index];
    card.classList.add("current");
    card.querySelector(".event-link").focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
    startPreview(card);
  }

  function selected() {
    return boxes.filter((box) => box.checked);
  }

  function showSelection() {
    const n = selected().length;
    cards.forEach((card, i) => card.classList.toggle("selected", boxes[i].checked));
    if (count) count.textContent = String(n);
    if (all) {
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
    buttons.forEach((button) => { button.disabled = n === 0; });
    form?.querySelector(".batchbar")?.classList.toggle("idle", n === 0);
  }

  cards.forEach((card, index) => {
    let timer = 0;
    card.addEventListener("pointerenter", (event) => {
      if (event.pointerType === "mouse") timer = window.setTimeout(() => startPreview(card), 250);
    });
    card.addEventListener("pointerleave", (event) => {
      window.clearTimeout(timer);
      // A finger "leaves" as it lifts, just before its tap on ▶ arrives: only a mouse ends a preview by leaving.
      if (event.pointerType === "mouse" && index !== current) stopPreview(card);
    });
    card.querySelector(".preview")?.addEventListener("click", () => {
      if (card.querySelector("video.preview-clip")) stopPreview(card);
      else startPreview(card);
    });
    card.querySelector(".event-link").addEventListener("focus", () => {
      if (current !== index) setCurrent(index);
    });
  });

  boxes.forEach((box) => box.addEventListener("change", showSelection));
  all?.addEventListener("change", () => {
    boxes.forEach((box) => { box.checked = all.checked; });
    showSelection();
  });

  form?.addEventListener("submit", (event) => {
    const button = event.submitter;
    const n = selected().length;
    if (!button || !button.dataset.ask) return;
    if (n === 0 || !window.confirm(button.dataset.ask.replaceAll("{n}", String(n)))) event.preventDefault();
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (event.target.matches("input:not([type=checkbox]), textarea, select, [contenteditable]")) return;
    if (event.key === "j" || event.key === "k") {
      event.preventDefault();
      setCurrent(current < 0 ? 0 : current + (event.key === "j" ? 1 : -1));
    } else if (event.key === "x" && current >= 0) {
      event.preventDefault();
      boxes[current].checked = !boxes[current].checked;
      showSelection();
    }
  });

  showSelection();
  // Back from an event (its address ends in #e-<id>): its card is the current one, so j/k go on from there.
  const back = cards.findIndex((card) => `#${card.id}` === window.location.hash);
  if (back >= 0) setCurrent(back);
})();
