// Exercise media upload: sends the file as the raw request body with its own type, so the
// server can count and check the bytes as they arrive (no multipart spooling).
document.addEventListener("submit", async (event) => {
  const form = event.target.closest("form.upload");
  if (!form) return;
  event.preventDefault();
  const file = form.querySelector("input[type=file]").files[0];
  const out = form.querySelector("output");
  if (!file) return;
  const response = await fetch(form.dataset.url + "?caption=" + encodeURIComponent(file.name), {
    method: "POST",
    headers: { "Content-Type": file.type || "application/octet-stream", "X-CSRF-Token": form.dataset.csrf },
    body: file,
  });
  if (response.ok) {
    out.textContent = out.dataset.done;
    window.location.reload();
  } else {
    // The API's detail is English: a translated page says the problem's translated title.
    const problem = await response.json().catch(() => ({ detail: response.statusText }));
    const slug = String(problem.type || "").split("/").pop();
    const titles = JSON.parse(out.dataset.problems || "{}");
    const english = document.documentElement.lang === "en";
    out.textContent = (english && problem.detail) || titles[slug] || out.dataset.failed;
  }
});
