// Keyboard shortcuts on the pages (elements with data-key) and confirmations (data-confirm).
"use strict";
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.matches("input, textarea, select, [contenteditable]")) {
    if (event.key === "Escape") target.blur();
    return;
  }
  const element = document.querySelector(`[data-key="${CSS.escape(event.key)}"]`);
  if (!element) return;
  event.preventDefault();
  if (element.matches("select, input, textarea")) element.focus();
  else element.click();
});
document.addEventListener("click", (event) => {
  const element = event.target.closest("[data-confirm]");
  if (element && !window.confirm(element.dataset.confirm)) event.preventDefault();
});
