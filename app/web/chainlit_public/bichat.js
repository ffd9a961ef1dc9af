// bichat's touches to the Chainlit page: the shop's name in the header once logged in (and,
// for its admins, a link to the admin pages, where the chat's login signs them on), a
// question the server could not take put back into the message box, and
// what Chainlit's markup lacks for assistive technology (WCAG: buttons without a name, a
// list that holds no items, ARIA on an element without a role). Served by Chainlit from its
// app root (public/), no other site involved.
(() => {
  const SHOP_URL = "/api/chat/shop";
  let shop = null;
  let admin = false;
  let asking = false;

  function onLoginPage() {
    return /\/login\/?$/.test(window.location.pathname);
  }

  async function askShop() {
    asking = true;
    try {
      const response = await fetch(SHOP_URL, { credentials: "same-origin", cache: "no-store" });
      const found = response.ok ? await response.json() : null;
      shop = found ? found.name : null;
      admin = Boolean(found && found.admin);
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
    if (admin) {
      const link = document.createElement("a");
      link.id = "bichat-admin";
      link.className = "bichat-admin";
      link.href = "/admin/";
      link.textContent = "Admin";
      slot.appendChild(link);
    }
  }

  // names for Chainlit's icon-only buttons: by id, by class, else by their icon
  const BUTTON_NAMES_BY_ID = {
    "sidebar-trigger-button": "Show or hide the conversations",
    "search-chats-button": "Search the conversations",
    "new-chat-button": "New conversation",
    "upload-button": "Attach a file",
    "upload-button-loading": "Attach a file (connecting)",
    "chat-submit": "Send",
    "stop-button": "Stop",
    "theme-toggle": "Light or dark theme",
    "thread-options": "Conversation options",
  };
  const BUTTON_NAMES_BY_CLASS = {
    "positive-feedback-off": "Helpful",
    "positive-feedback-on": "Marked helpful",
    "negative-feedback-off": "Not helpful",
    "negative-feedback-on": "Marked not helpful",
  };
  const BUTTON_NAMES_BY_ICON = {
    copy: "Copy",
    check: "Copied",
    eye: "Show the password",
    "eye-off": "Hide the password",
    x: "Close",
    download: "Download",
    "chevron-left": "Previous",
    "chevron-right": "Next",
    ellipsis: "More options",
    pencil: "Rename",
    trash: "Delete",
    "trash-2": "Delete",
    "square-pen": "New conversation",
  };

  function buttonName(button) {
    if (BUTTON_NAMES_BY_ID[button.id]) return BUTTON_NAMES_BY_ID[button.id];
    for (const [name, label] of Object.entries(BUTTON_NAMES_BY_CLASS)) {
      if (button.classList.contains(name)) return label;
    }
    // Chainlit's microphone (shown when voice questions are on) draws its own icon
    if (button.querySelector("svg path[d^='M4.5 9C3.67157']")) return "Ask by voice";
    const icon = button.querySelector("svg[class*='lucide-']");
    const match = icon && icon.getAttribute("class").match(/lucide-([a-z0-9-]+)/);
    if (match) return BUTTON_NAMES_BY_ICON[match[1]] || match[1].replace(/-/g, " ");
    return button.id ? button.id.replace(/[-_]+/g, " ") : null; // better than no name
  }

  function mendAccessibility() {
    const unnamed = "button:not([aria-label]):not([aria-labelledby]), [type=button][aria-haspopup]:not(button):not([role])";
    for (const button of document.querySelectorAll(unnamed)) {
      if (button.tagName !== "BUTTON") button.setAttribute("role", "button");
      if (button.textContent.trim() || button.title || button.hasAttribute("aria-label")) continue;
      const name = buttonName(button);
      if (name) button.setAttribute("aria-label", name);
    }
    // the attach button is a drop zone too, which calls itself "presentation": it is a button
    for (const button of document.querySelectorAll("button[role=presentation]")) {
      button.setAttribute("role", "button");
    }
    // a <ul> that only wraps other markup (the sidebar's) is no list
    for (const list of document.querySelectorAll("ul:not([role]), ol:not([role])")) {
      const children = Array.from(list.children);
      if (children.length && !children.some((child) => child.tagName === "LI")) {
        list.setAttribute("role", "none");
      }
    }
    for (const link of document.querySelectorAll("a.pointer-events-none:not([aria-disabled])")) {
      link.setAttribute("aria-disabled", "true");
    }
  }

  // a question the server could not take (its database was briefly away) comes back into
  // the message box: the server sends it as a window message (Chainlit's send_window_message)
  function restoreQuestion(text) {
    const box = document.getElementById("chat-input");
    if (!box || typeof text !== "string") return;
    const setValue = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(box), "value").set;
    setValue.call(box, text); // React reads the value on its input event
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window || event.origin !== window.location.origin) return;
    const data = event.data;
    if (data && data.type === "bichat.restore_question") restoreQuestion(data.text);
  });

  let scheduled = false;
  new MutationObserver(() => {
    if (scheduled) return;
    scheduled = true;
    window.requestAnimationFrame(() => {
      scheduled = false;
      place();
      mendAccessibility();
    });
  }).observe(document.documentElement, { childList: true, subtree: true });
})();

// Nothing from other sites: no link leading away, no image fetched from elsewhere. Answers are
// markdown, and text from the shop's data (a review, a product name) can reach them through a
// language model, which may write it as a link or an image; bichat escapes the data it renders
// itself, and this holds for whatever else arrives. An <a> leading away from bichat loses its
// href (so it is no link: not clickable, not focusable) and shows its address instead
// (bichat.css); a click on one still being drawn is stopped before the browser follows it. An
// <img> from elsewhere (which the page's Content-Security-Policy already refuses to load) loses
// its src and says what it was, as the admin transcripts do.
(() => {
  function outside(element, attribute) {
    let url;
    try {
      url = new URL(element.getAttribute(attribute), window.location.href);
    } catch (error) {
      return true;
    }
    if (url.origin === window.location.origin) return false;
    if (attribute === "src") return url.protocol !== "data:" && url.protocol !== "blob:";
    const download = element.hasAttribute("download") && ["blob:", "data:"].includes(url.protocol);
    return !download;
  }

  function disarmLink(link) {
    link.setAttribute("data-bichat-href", link.getAttribute("href"));
    link.removeAttribute("href");
    link.removeAttribute("target");
    link.classList.add("bichat-outside-link");
    link.title = "Links to other sites are not followed";
  }

  function disarmImage(image) {
    const address = image.getAttribute("src");
    image.removeAttribute("src");
    image.removeAttribute("srcset");
    image.alt = `[image: ${image.alt || "image"} · ${address}]`;
    image.classList.add("bichat-outside-image");
  }

  function disarmAll(root) {
    if (root.nodeType !== Node.ELEMENT_NODE) return;
    const links = root.matches("a[href]") ? [root] : root.querySelectorAll("a[href]");
    for (const link of links) if (outside(link, "href")) disarmLink(link);
    const images = root.matches("img[src]") ? [root] : root.querySelectorAll("img[src]");
    for (const image of images) if (outside(image, "src")) disarmImage(image);
  }

  for (const kind of ["click", "auxclick"]) {
    document.addEventListener(
      kind,
      (event) => {
        const link = event.target instanceof Element && event.target.closest("a[href]");
        if (link && outside(link, "href")) {
          event.preventDefault();
          event.stopImmediatePropagation();
          disarmLink(link);
        }
      },
      true,
    );
  }
  new MutationObserver((changes) => {
    for (const change of changes) {
      if (change.type === "attributes") disarmAll(change.target);
      for (const node of change.addedNodes) disarmAll(node);
    }
  }).observe(document.documentElement, {
    childList: true,
    subtree: true,
    attributes: true,
    attributeFilter: ["href", "src"],
  });
  disarmAll(document.documentElement);
})();
