// What a keyboard needs beyond Quasar's defaults, on every page (components/frame.py adds it).
//
// 1. Closing a dialog, with Escape too, returns focus to the control that opened it (WCAG 2.4.3): even when that
//    control was re-rendered meanwhile (a live update), sat in a menu that closed (then: the menu's button), or sat
//    in a dialog that this one replaced (then: what opened that one).
// 2. A menu's entries move with the arrow keys, Home and End (WAI-ARIA's menu pattern); ArrowRight opens an entry's
//    sub-menu. Quasar's q-menu leaves this to the page.
(() => {
  let last = null; // the control the admin used last, outside any menu
  const remember = (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (target && !target.closest(".q-menu")) last = target.closest("button, a, input, [tabindex]") || target;
  };
  document.addEventListener("focusin", remember, true);
  document.addEventListener("pointerdown", remember, true);

  const nameOf = (element) => element.getAttribute("aria-label") || element.textContent.trim();
  const describe = (element) => element && { element, tag: element.tagName, name: nameOf(element) };
  const find = (opener) => {
    if (!opener) return null;
    if (opener.element.isConnected) return opener.element;
    const same = [...document.querySelectorAll(opener.tag)].filter((element) => nameOf(element) === opener.name);
    return same.length === 1 ? same[0] : null; // re-rendered: the one control of the same kind and name
  };

  const openers = new Map(); // an open dialog → what opened it, and what opened the dialog that held it
  new MutationObserver(() => {
    const open = [...document.querySelectorAll(".q-dialog")];
    for (const dialog of open) {
      if (openers.has(dialog) || !last) continue;
      const holder = open.find((other) => other !== dialog && other.contains(last));
      openers.set(dialog, { opener: describe(last), fallback: holder && openers.get(holder)?.opener });
    }
    for (const [dialog, { opener, fallback }] of openers) {
      if (open.includes(dialog)) continue;
      openers.delete(dialog);
      setTimeout(() => {
        const target = find(opener) || find(fallback);
        const still = [...document.querySelectorAll(".q-dialog")];
        if (target && still.every((other) => other.contains(target))) target.focus();
      }, 0);
    }
  }).observe(document.body, { childList: true, subtree: true });

  document.addEventListener("keydown", (event) => {
    const menus = document.querySelectorAll(".q-menu");
    if (!menus.length) return;
    const inMenu = event.target instanceof Element ? event.target.closest(".q-menu") : null;
    const menu = inMenu || menus[menus.length - 1]; // a menu just opened may not hold the focus yet: the newest
    const items = [...menu.querySelectorAll(".q-item")].filter(
      (item) => item.closest(".q-menu") === menu && item.tabIndex >= 0 && !item.classList.contains("disabled"),
    );
    if (!items.length) return;
    const at = items.indexOf(event.target.closest(".q-item"));
    const to = { ArrowDown: at + 1, ArrowUp: (at < 0 ? items.length : at) - 1, Home: 0, End: items.length - 1 }[
      event.key
    ];
    if (to !== undefined) {
      event.preventDefault();
      items[(to + items.length) % items.length].focus();
    } else if (event.key === "ArrowRight" && at >= 0 && items[at].getAttribute("aria-haspopup")) {
      event.preventDefault();
      items[at].click();
    }
  });
})();
