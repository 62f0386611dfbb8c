// The receipt's "print" button. A static file, not an onclick attribute: the
// Content-Security-Policy allows scripts from this site only, never inline ones.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () {
      window.print();
    });
  });
});
