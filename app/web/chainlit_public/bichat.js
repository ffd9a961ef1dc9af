// bichat's touches to the Chainlit page: the shop's name in the header once logged in.
// Served by Chainlit from its app root (public/), no other site involved.
(() => {
  const SHOP_URL = "/api/chat/shop";
  let shop = null;
  let asking = false;

  function onLoginPage() {
    return /\/login\/?$/.test(window.location.pathname);
  }

  async function askShop() {
    asking = true;
    try {
      const response = await fetch(SHOP_URL, { credentials: "same-origin", cache: "no-store" });
      shop = response.ok ? (await response.json()).name : null;
    } catch (error) {
      shop = null;
    }
    asking = false;
    place();
  }

  function place() {
    if (onLoginPage()) {
      shop = null;
      return;
    }
    if (shop === null) {
      if (!asking) askShop();
      return;
    }
    const header = document.getElementById("header");
    if (!header || document.getElementById("bichat-shop")) return;
    const slot = header.querySelector(":scope > div.absolute") || header.firstElementChild;
    if (!slot) return;
    const badge = document.createElement("span");
    badge.id = "bichat-shop";
    badge.className = "bichat-shop";
    badge.title = "Your shop";
    badge.textContent = shop; // text, never HTML
    slot.appendChild(badge);
  }

  let scheduled = false;
  new MutationObserver(() => {
    if (scheduled) return;
    scheduled = true;
    window.requestAnimationFrame(() => {
      scheduled = false;
      place();
    });
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
