// Star Shop: a Telegram Mini App selling digital goods for Telegram Stars.
//
// Inside Telegram it uses window.Telegram.WebApp: the signed init data goes
// to the backend in "Authorization: tma <initData>", the theme params colour
// the page, the main button buys, and openInvoice shows Telegram's payment
// sheet. In an ordinary browser a local stand-in takes its place: it fetches
// demo init data from the backend's embedded default (GET /demo/session) and
// pays through the fake Telegram (POST /demo/pay).
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);

  // telegram-web-app.js is loaded here rather than by a <script> tag, so a
  // slow or blocked telegram.org never holds the page: after
  // TELEGRAM_SCRIPT_TIMEOUT_MS the page goes on without it.
  const TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js";
  const TELEGRAM_SCRIPT_TIMEOUT_MS = 2000;
  function loadTelegramScript() {
    return new Promise((resolve) => {
      if (window.Telegram && window.Telegram.WebApp) { resolve(); return; }
      const s = document.createElement("script");
      s.src = TELEGRAM_SCRIPT;
      s.async = true;
      const timer = setTimeout(resolve, TELEGRAM_SCRIPT_TIMEOUT_MS);
      s.onload = s.onerror = () => { clearTimeout(timer); resolve(); };
      document.head.append(s);
    });
  }
  // Telegram opens a Mini App with its init data in the URL's fragment.
  const openedByTelegram = /[#&]tgWebAppData=/.test(location.hash);

  let tg = null;
  let inTelegram = false;

  let initData = "";
  let selected = null;
  let busy = false;

  // ---- the main button: Telegram's, or the stand-in's ----
  const telegramMainButton = {
    show(text) { tg.MainButton.setText(text); tg.MainButton.show(); tg.MainButton.enable(); },
    hide() { tg.MainButton.hide(); },
    progress(on) { on ? tg.MainButton.showProgress(false) : tg.MainButton.hideProgress(); },
    onClick(fn) { tg.MainButton.onClick(fn); },
  };
  const standInMainButton = {
    show(text) { const b = $("main-button"); b.textContent = text; b.hidden = false; b.disabled = false; },
    hide() { $("main-button").hidden = true; },
    progress(on) { $("main-button").disabled = on; },
    onClick(fn) { $("main-button").addEventListener("click", fn); },
  };
  let mainButton = standInMainButton;

  // ---- the invoice: Telegram's openInvoice, or the stand-in's sheet ----
  // Either way the callback receives one of Telegram's invoice statuses:
  // "paid", "cancelled", "failed" or "pending".
  function openInvoice(link, product, callback) {
    if (inTelegram) {
      tg.openInvoice(link, callback);
      return;
    }
    $("invoice-title").textContent = product.title;
    $("invoice-desc").textContent = product.description;
    const pay = $("invoice-pay");
    pay.textContent = "Pay ⭐ " + product.stars;
    pay.disabled = false;
    $("invoice").hidden = false;
    const done = (status) => {
      $("invoice").hidden = true;
      pay.onclick = null;
      $("invoice-cancel").onclick = null;
      callback(status);
    };
    $("invoice-cancel").onclick = () => done("cancelled");
    pay.onclick = async () => {
      pay.disabled = true;
      try {
        const r = await api("POST", "/demo/pay", { invoice_link: link });
        done(r.status || "failed");
      } catch (e) {
        done("failed");
      }
    };
  }

  // ---- backend calls ----
  async function api(method, path, body, headers) {
    const h = Object.assign({ Authorization: "tma " + initData }, headers || {});
    if (body !== undefined) h["Content-Type"] = "application/json";
    const res = await fetch(path, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!res.ok) {
      // Errors are RFC 9457 problems: {"title": ..., "detail": ...}.
      const msg = (data && (data.detail || data.title)) || res.status + " " + res.statusText;
      throw new Error(msg);
    }
    return data;
  }

  function setStatus(text, isError) {
    const s = $("status");
    s.textContent = text;
    s.classList.toggle("error", Boolean(isError));
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function renderProducts(products) {
    const ul = $("products");
    ul.replaceChildren();
    for (const p of products) {
      const li = el("li");
      const b = el("button", "product");
      b.type = "button";
      b.dataset.product = p.id;
      b.setAttribute("aria-pressed", "false");
      b.append(el("div", "emoji", p.emoji), el("div", "title", p.title),
        el("div", "desc", p.description), el("div", "price", "⭐ " + p.stars));
      b.addEventListener("click", () => select(p, b));
      li.append(b);
      ul.append(li);
    }
  }

  function select(p, button) {
    if (busy) return;
    selected = p;
    for (const b of document.querySelectorAll(".product")) b.setAttribute("aria-pressed", String(b === button));
    if (inTelegram && tg.HapticFeedback) tg.HapticFeedback.selectionChanged();
    mainButton.show("Buy " + p.title + " · ⭐ " + p.stars);
  }

  function renderOrders(orders) {
    const ul = $("orders");
    ul.replaceChildren();
    for (const o of orders) {
      const li = el("li");
      li.dataset.order = o.order_id;
      li.dataset.status = o.status;
      li.append(el("span", "", o.emoji + " " + o.title + " · ⭐ " + o.stars), el("span", "badge", o.status));
      ul.append(li);
    }
    $("no-orders").hidden = orders.length > 0;
  }

  async function refreshOrders() {
    const orders = await api("GET", "/api/orders");
    renderOrders(orders || []);
    return orders || [];
  }

  // After "paid" the order shows once the backend has handled Telegram's
  // successful_payment update; poll briefly for it.
  async function waitForOrder(orderID) {
    for (let i = 0; i < 40; i++) {
      const orders = await refreshOrders();
      if (orders.some((o) => o.order_id === orderID)) return true;
      await new Promise((r) => setTimeout(r, 250));
    }
    return false;
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return String(Date.now()) + "-" + Math.random().toString(16).slice(2);
  }

  async function buy() {
    if (!selected || busy) return;
    const product = selected;
    busy = true;
    mainButton.progress(true);
    setStatus("Creating your invoice…");
    try {
      // One Idempotency-Key per purchase attempt: a retried POST returns
      // the same order and invoice instead of creating a second one.
      const order = await api("POST", "/api/orders", { product_id: product.id }, { "Idempotency-Key": newKey() });
      setStatus("Waiting for payment…");
      openInvoice(order.invoice_link, product, async (status) => {
        try {
          if (status === "paid") {
            setStatus("Payment received, delivering your order…");
            const ok = await waitForOrder(order.order_id);
            setStatus(ok ? "Paid: " + product.title + " is yours." : "Paid; your order will appear shortly.");
            if (ok && inTelegram && tg.HapticFeedback) tg.HapticFeedback.notificationOccurred("success");
          } else if (status === "pending") {
            setStatus("Payment pending; your order will appear once Telegram confirms it.");
            waitForOrder(order.order_id);
          } else if (status === "cancelled") {
            setStatus("Payment cancelled.");
          } else {
            setStatus("Payment failed. Nothing was charged.", true);
          }
        } finally {
          busy = false;
          mainButton.progress(false);
        }
      });
    } catch (e) {
      setStatus("Could not create the invoice: " + e.message, true);
      busy = false;
      mainButton.progress(false);
    }
  }

  async function start() {
    await loadTelegramScript();
    tg = window.Telegram && window.Telegram.WebApp;
    inTelegram = Boolean(tg && tg.initData);
    if (inTelegram) mainButton = telegramMainButton;
    if (!inTelegram && openedByTelegram) {
      $("user").textContent = "Not signed in";
      setStatus("Telegram's script (telegram-web-app.js) did not load: check the connection and reopen the shop.", true);
      return;
    }
    if (inTelegram) {
      tg.ready();
      tg.expand();
      initData = tg.initData;
    } else {
      $("standin").hidden = false;
      try {
        const s = await api("GET", "/demo/session");
        initData = s.init_data;
      } catch (e) {
        $("user").textContent = "Not signed in";
        setStatus("Open this page from your bot in Telegram (no demo session: " + e.message + ").", true);
        return;
      }
    }
    mainButton.onClick(buy);
    try {
      const me = await api("GET", "/api/me");
      $("user").textContent = [me.first_name, me.last_name].filter(Boolean).join(" ");
      $("user").dataset.userId = String(me.id);
      renderProducts(await api("GET", "/api/products"));
      await refreshOrders();
      setStatus("Pick something to buy.");
    } catch (e) {
      setStatus("Could not load the shop: " + e.message, true);
    }
  }

  start();
})();
