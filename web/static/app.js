/* sohoa pages: drag-and-drop upload with live status, and live refresh of progress tables.
   Plain JavaScript, no build step. Without JavaScript the forms still work (the server
   redirects and the status pages refresh themselves). */
"use strict";

const CSRF = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

/* Elements with data-live="N" are fetched again every N seconds (same URL, same id) until the
   server sends them back without data-live: everything in them has ended. */
function liveRefresh(element) {
  const seconds = Number(element.dataset.live) || 5;
  const tick = async () => {
    try {
      const response = await fetch(window.location.href, { headers: { "Accept": "text/html" }, credentials: "same-origin" });
      if (!response.ok) { throw new Error(String(response.status)); }
      const html = await response.text();
      const fresh = new DOMParser().parseFromString(html, "text/html").getElementById(element.id);
      if (!fresh) { return; }
      element.replaceWith(fresh);
      element = fresh;
      if (!fresh.dataset.live) { return; }
    } catch (error) { /* a restart of the server: keep trying */ }
    setTimeout(tick, seconds * 1000);
  };
  setTimeout(tick, seconds * 1000);
}

function setupUpload() {
  const form = document.getElementById("upload-form");
  if (!form || !window.fetch || !window.FormData) { return; }
  const drop = document.getElementById("drop");
  const input = document.getElementById("files");
  const chosen = document.getElementById("chosen");
  const message = document.getElementById("upload-message");
  let files = [];

  const show = () => {
    chosen.replaceChildren(...files.map((file) => {
      const li = document.createElement("li");
      li.textContent = `${file.name} (${Math.ceil(file.size / 1024).toLocaleString("vi-VN")} KB)`;
      return li;
    }));
  };
  input.addEventListener("change", () => { files = files.concat(Array.from(input.files)); input.value = ""; show(); });
  ["dragenter", "dragover"].forEach((name) => drop.addEventListener(name, (event) => {
    event.preventDefault(); drop.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((name) => drop.addEventListener(name, (event) => {
    event.preventDefault(); drop.classList.remove("over");
  }));
  drop.addEventListener("drop", (event) => { files = files.concat(Array.from(event.dataTransfer.files)); show(); });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!files.length) { message.textContent = "Chưa chọn tệp nào để tải lên."; return; }
    const body = new FormData();
    for (const [key, value] of new FormData(form).entries()) {
      if (key !== "files" && key !== "csrf_token") { body.append(key, value); }
    }
    files.forEach((file) => body.append("files", file, file.name));
    message.textContent = "Đang tải lên…";
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const response = await fetch("/api/uploads", {
        method: "POST", body, credentials: "same-origin", headers: { "X-CSRF-Token": CSRF(), "Accept": "application/json" },
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) {
        message.textContent = `${answer.title || "Lỗi"}: ${answer.message || response.status}${answer.detail ? " (" + answer.detail + ")" : ""}`;
        return;
      }
      message.textContent = `Đã nhận ${answer.items.length} tệp; trạng thái bên dưới tự cập nhật.`;
      files = []; show();
      const table = document.getElementById("upload-status");
      table.dataset.live = "2";
      liveRefreshOnce(table);
    } catch (error) {
      message.textContent = "Không kết nối được máy chủ; hãy thử lại.";
    } finally {
      button.disabled = false;
    }
  });
}

/* After an upload: fetch the table now, then keep it live. */
async function liveRefreshOnce(table) {
  const response = await fetch(window.location.pathname, { credentials: "same-origin" });
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById(table.id);
  if (fresh) {
    fresh.dataset.live = fresh.dataset.live || "2";
    table.replaceWith(fresh);
    liveRefresh(fresh);
  }
}

/* The menu's "Thông báo" badge: how many of the user's files ended since they last looked,
   asked again every 15 seconds (a number only: no file names travel). */
function noticeBadge() {
  const badge = document.getElementById("notice-badge");
  if (!badge || !window.fetch) { return; }
  const tick = async () => {
    try {
      const response = await fetch("/api/notifications/count", { credentials: "same-origin", headers: { "Accept": "application/json" } });
      if (response.ok) {
        const answer = await response.json();
        badge.textContent = answer.label;
        badge.hidden = !answer.unseen;
        badge.setAttribute("aria-label", `${answer.label} thông báo mới`);
      }
    } catch (error) { /* a restart of the server: try again at the next tick */ }
  };
  tick();
  setInterval(tick, 15000);
}

document.addEventListener("DOMContentLoaded", () => {
  noticeBadge();
  document.querySelectorAll("[data-live]").forEach(liveRefresh);
  setupUpload();
  document.querySelectorAll("[data-back]").forEach((link) => link.addEventListener("click", (event) => {
    if (window.history.length > 1) { event.preventDefault(); window.history.back(); }
  }));
});

/* A table wider than the screen scrolls inside itself (390 px phones): it is wrapped in a region that
   the keyboard reaches (Tab, then the arrow keys), so the table keeps its own semantics. */
function keyboardScroll() {
  document.querySelectorAll("main table").forEach((table) => {
    const outer = table.parentElement;
    if (outer.classList.contains("table-scroll") || outer.classList.contains("scroll")) {
      if (outer.scrollWidth > outer.clientWidth + 1 && !outer.hasAttribute("tabindex")) { makeRegion(outer, table); }
      return;
    }
    if (table.scrollWidth > table.clientWidth + 1 || table.offsetWidth > outer.clientWidth + 1) {
      const box = document.createElement("div");
      box.className = "table-scroll";
      outer.insertBefore(box, table);
      box.appendChild(table);
      makeRegion(box, table);
    }
  });
}
function makeRegion(box, table) {
  box.tabIndex = 0;
  box.setAttribute("role", "region");
  const head = table.querySelector("caption, th");
  box.setAttribute("aria-label", "Bảng cuộn ngang" + (head ? ": " + head.textContent.trim() : ""));
}
document.addEventListener("DOMContentLoaded", keyboardScroll);
window.addEventListener("resize", keyboardScroll);
