// The event page: the snapshot full size (click to switch between fitting the window and actual size,
// where the clicked point stays in view), swipe left or right for the next or previous event, and a typed
// note that is not lost without asking (on a shortcut, a link, a swipe or closing the page).
"use strict";

(() => {
  const note = document.getElementById("note");
  let leaving = false;  // the note goes with the form being sent, or its loss was accepted

  function mayLeave() {
    if (!note || leaving || note.value.trim() === "") return true;
    if (window.confirm(note.dataset.discard)) {
      leaving = true;
      return true;
    }
    return false;
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[href]");
    if (!link || link.hasAttribute("download") || link.target === "_blank") return;
    if (!mayLeave()) event.preventDefault();
  });
  document.addEventListener("submit", (event) => {
    if (event.target === note?.form) leaving = true;
    else if (event.target.method !== "dialog" && !mayLeave()) event.preventDefault();
  });
  window.addEventListener("beforeunload", (event) => {
    if (note && !leaving && note.value.trim() !== "") event.preventDefault();
  });

  const dialog = document.getElementById("zoom");
  const image = document.getElementById("zoom-image");
  document.getElementById("zoom-open")?.addEventListener("click", () => dialog.showModal());
  image?.addEventListener("click", (event) => {
    const area = image.parentElement;
    if (image.classList.contains("actual")) {
      image.classList.replace("actual", "fit");
      return;
    }
    // Where the click fell on the picture, in its own pixels (object-fit: contain letterboxes it).
    const box = image.getBoundingClientRect();
    const scale = Math.min(box.width / image.naturalWidth, box.height / image.naturalHeight);
    const x = (event.clientX - box.left - (box.width - image.naturalWidth * scale) / 2) / scale;
    const y = (event.clientY - box.top - (box.height - image.naturalHeight * scale) / 2) / scale;
    image.classList.replace("fit", "actual");
    area.scrollLeft = x - area.clientWidth / 2;
    area.scrollTop = y - area.clientHeight / 2;
  });

  let start = null;
  document.addEventListener("touchstart", (event) => {
    const ignored = event.target.closest("video, dialog, input, textarea, select, .table-scroll");
    start = event.touches.length === 1 && !ignored ? { x: event.touches[0].clientX, y: event.touches[0].clientY } : null;
  }, { passive: true });
  document.addEventListener("touchend", (event) => {
    if (!start) return;
    const dx = event.changedTouches[0].clientX - start.x;
    const dy = event.changedTouches[0].clientY - start.y;
    start = null;
    const zoomed = window.visualViewport && window.visualViewport.scale > 1.01;  // panning a pinched page
    if (zoomed || Math.abs(dx) < 80 || Math.abs(dy) > Math.abs(dx) / 2) return;
    document.getElementById(dx < 0 ? "next-event" : "prev-event")?.click();
  }, { passive: true });
})();
