// The top bar's menu on a phone: the button opens and closes it (wider screens show it always).
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector(".menu-toggle");
  const bar = document.querySelector(".topbar");
  if (!toggle || !bar) return;
  toggle.addEventListener("click", () => {
    const open = bar.classList.toggle("open");
    toggle.setAttribute("aria-expanded", String(open));
  });
});
