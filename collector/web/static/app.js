// Every page: keyboard shortcuts and confirmations.
// An element with data-key="c" (or several keys: data-key="j n") is clicked, or focused when it is a
// field, when its key is pressed outside a text field; the first one that is visible wins. A dialog that
// is open takes the keys itself. An element with data-confirm asks before it acts.
"use strict";

const TYPING = "input:not([type=checkbox]):not([type=radio]), textarea, select, [contenteditable]";

function shortcut(key) {
  const candidates = document.querySelectorAll(`[data-key~="${CSS.escape(key)}"]`);
  return [...candidates].find((element) => element.getClientRects().length > 0);
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
  const target = event.target;
  if (target.matches(TYPING)) {
    if (event.key === "Escape") target.blur();
    return;
  }
  if (document.querySelector("dialog[open]")) return;
  const element = shortcut(event.key);
  if (!element) return;
  event.preventDefault();
  if (element.matches(TYPING)) element.focus();
  else element.click();
});

document.addEventListener("click", (event) => {
  const element = event.target.closest("[data-confirm]");
  if (element && !window.confirm(element.dataset.confirm)) event.preventDefault();
});
