// Admin → Models: the SHA-256 of the chosen file, computed in the browser, so that the server's own hash of
// what arrived checks the transfer. Where the browser has no WebCrypto (plain http to a remote host is not
// a secure context) the field stays empty and the server keeps the hash it computes.
"use strict";

(() => {
  const file = document.getElementById("model-file");
  const field = document.getElementById("model-sha256");
  const state = document.getElementById("model-sha256-state");
  if (!file || !field) return;
  file.addEventListener("change", async () => {
    field.value = "";
    state.textContent = "";
    const chosen = file.files[0];
    if (!chosen || !window.crypto || !window.crypto.subtle) return;
    state.textContent = field.dataset.hashing;
    const digest = await window.crypto.subtle.digest("SHA-256", await chosen.arrayBuffer());
    if (file.files[0] !== chosen) return;  // another file was chosen meanwhile
    field.value = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    state.textContent = field.dataset.hashed;
  });
})();
