// The demo page: ask for a call, poll its status and the sandbox phone, check the code.
// Plain browser JavaScript, no library: the demo must work offline.
"use strict";

(function () {
  const urls = document.body.dataset;
  const strings = JSON.parse(document.getElementById("demo-strings").textContent);
  // The providers the page offers: {name, label, kind, calls (its sandbox's list of calls)}.
  const providers = JSON.parse(document.getElementById("demo-providers").textContent);
  const csrfToken = document.querySelector("[name=csrfmiddlewaretoken]").value;
  const byId = (id) => document.getElementById(id);

  const POLL_INTERVAL_MS = 700;
  // About five minutes: past a call, its redial (REDIAL_DELAY, 20 s, and the sweeper's next
  // round), the redial itself and the fallback.
  const MAX_POLLS = 400;

  let current = null; // the call being watched: {id, phone_number, provider, provider_call_id}
  let polls = 0;
  let pollTimer = null;
  let shown = new Set(); // "call id:status" already written in the history
  let cooldownTimer = null;
  // Times in the page's language, not the browser's: a Vietnamese page writes 18:19:47.
  const timeFormat = new Intl.DateTimeFormat(document.documentElement.lang, {
    hour: "numeric",
    minute: "2-digit",
    second: "2-digit",
  });

  async function postJSON(url, data) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(data),
    });
    return { ok: response.ok, data: await response.json() };
  }

  function show(id, visible) {
    byId(id).hidden = !visible;
  }

  function resetPage() {
    clearTimeout(pollTimer);
    current = null;
    shown = new Set();
    polls = 0;
    byId("status-history").replaceChildren();
    byId("verify-result").textContent = "";
    byId("verify-result").className = "";
    byId("code").value = "";
    show("call-error", false);
    show("status-step", false);
    show("verify-step", false);
    show("phone-sms", false);
    renderPhone(null);
  }

  function waitMessage(seconds) {
    const template = seconds === 1 ? strings.cooldown_one : strings.cooldown_other;
    return template.replace("%(seconds)d", String(seconds));
  }

  // A second call to the same number within the cooldown: say how long, count it down, and
  // keep "Call me" off until then. Another number may be called at once.
  function startCooldown(seconds) {
    stopCooldown();
    const button = byId("call-button");
    const notice = byId("call-wait");
    let left = seconds;
    const tick = () => {
      if (left <= 0) {
        stopCooldown();
        return;
      }
      notice.textContent = waitMessage(left);
      left -= 1;
      cooldownTimer = setTimeout(tick, 1000);
    };
    button.disabled = true;
    show("call-error", false);
    show("call-wait", true);
    tick();
    // Announced once; a screen reader need not read every second.
    notice.setAttribute("aria-live", "off");
  }

  function stopCooldown() {
    if (cooldownTimer === null) return;
    clearTimeout(cooldownTimer);
    cooldownTimer = null;
    byId("call-button").disabled = false;
    show("call-wait", false);
    byId("call-wait").setAttribute("aria-live", "polite");
  }

  byId("phone").addEventListener("input", stopCooldown);

  byId("call-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = byId("call-button");
    const label = button.textContent;
    button.disabled = true;
    button.textContent = strings.calling;
    let waiting = false;
    try {
      const choice = byId("provider");
      const { ok, data } = await postJSON(urls.startUrl, {
        phone_number: byId("phone").value,
        provider: choice ? choice.value : "",
      });
      if (!ok) {
        // A refused request places no call: the call already on the page stays there.
        if (data.limit === "cooldown" && data.retry_after > 0) {
          waiting = true;
          startCooldown(data.retry_after);
        } else {
          byId("call-error").textContent = data.error;
          show("call-error", true);
        }
        return;
      }
      stopCooldown();
      resetPage();
      current = data;
      byId("call-id").textContent = "#" + data.id;
      show("status-step", true);
      renderCall(data);
      poll();
    } catch (error) {
      byId("call-error").textContent = strings.network;
      show("call-error", true);
    } finally {
      button.disabled = waiting;
      button.textContent = label;
    }
  });

  async function poll() {
    polls += 1;
    const statusUrl = urls.statusUrl.replace("/0/", "/" + current.id + "/");
    try {
      const call = await fetch(statusUrl, { credentials: "same-origin" }).then((r) => r.json());
      // While a redial waits for its time, the phone shows the call it missed.
      const attempts = call.attempts || [call];
      const onPhone = call.redial_in === null ? call : attempts[attempts.length - 2];
      // The sandbox of the provider that placed it: the one chosen, or the next of FAILOVER.
      const mine = await phoneCall(onPhone);
      const sms = call.fallback_sent ? await smsOf(attempts) : null;
      // Shown together: a call's "success" never appears before the phone's code does.
      renderCall(call);
      renderPhone(mine, onPhone);
      renderSms(sms);
      const phoneDone = !mine || mine.status !== "";
      // The delivery is over only when no redial and no fallback is still to come.
      if (call.delivery_over && phoneDone) {
        return;
      }
    } catch (error) {
      // A missed poll is retried at the next tick.
    }
    if (polls < MAX_POLLS) {
      pollTimer = setTimeout(poll, POLL_INTERVAL_MS);
    }
  }

  // What the sandbox phone of the call's provider went through, as {status, otp}: status ""
  // while it rings, "success" once answered, else the provider's word for why not.
  async function phoneCall(call) {
    const provider = providers.find((entry) => entry.name === call.provider);
    if (!provider || !call.provider_call_id) return null;
    if (provider.kind === "stringee") {
      const listing = await fetch(provider.calls).then((r) => r.json());
      const placed = listing.calls.find((entry) => entry.call_id === call.provider_call_id);
      return placed ? stringeePhone(placed) : null;
    }
    const url = provider.calls + "?phone_number=" + encodeURIComponent(current.phone_number);
    const listing = await fetch(url).then((r) => r.json());
    return listing.find((entry) => entry.call_id === call.provider_call_id) || null;
  }

  // Stringee's sandbox lists what the voice read ("... 4 8 2 9 1 6 ...") and the call's events.
  function stringeePhone(placed) {
    const spoken = (placed.spoken[0] || "").match(/\d( \d)*/);
    const otp = spoken ? spoken[0].replace(/ /g, "") : "";
    if (placed.events.includes("answered") || placed.outcome === "answered") {
      return { status: placed.events.length ? "success" : "", otp: otp };
    }
    return { status: placed.events.includes("ended") ? placed.outcome : "", otp: "" };
  }

  // The SMS the eSMS sandbox was given for this delivery (its RequestId names the call).
  async function smsOf(attempts) {
    const messages = await fetch(urls.smsUrl).then((r) => r.json());
    const ids = attempts.map((attempt) => "voiceotp-" + attempt.id + "-");
    return messages.find((m) => ids.some((id) => (m.RequestId || "").startsWith(id))) || null;
  }

  function renderCall(call) {
    byId("call-provider").textContent = call.provider_display;
    const badge = byId("status-badge");
    badge.textContent = call.status_display;
    badge.className = "badge " + call.status;
    byId("call-id").textContent = "#" + call.id;
    byId("status-explanation").textContent = call.explanation;
    // Every call of the delivery: a change missed between two polls is still written.
    for (const attempt of call.attempts || [call]) {
      const key = attempt.id + ":" + attempt.status;
      if (shown.has(key)) continue;
      shown.add(key);
      const item = document.createElement("li");
      const time = document.createElement("time");
      const now = new Date();
      time.dateTime = now.toISOString();
      time.textContent = timeFormat.format(now);
      const label = attempt.id === current.id ? "" : "#" + attempt.id + " ";
      item.append(time, " ", label + attempt.status_display);
      byId("status-history").append(item);
    }
    if (call.status === "success" || call.fallback_sent) {
      const wasHidden = byId("verify-step").hidden;
      show("verify-step", true);
      if (wasHidden) {
        byId("code").focus();
      }
    }
  }

  function renderPhone(simulated, call) {
    const state = byId("phone-state");
    const otp = byId("phone-otp");
    const screen = state.parentElement;
    otp.hidden = true;
    screen.className = "screen";
    if (!simulated) {
      state.textContent = call && !call.is_final ? strings.ringing : strings.idle;
      if (call && !call.is_final) screen.className = "screen ringing";
      return;
    }
    if (simulated.status === "") {
      state.textContent = strings.ringing;
      screen.className = "screen ringing";
    } else if (simulated.status.toLowerCase() === "success") {
      state.textContent = strings.answered;
      otp.textContent = simulated.otp.split("").join(" ");
      otp.hidden = false;
      screen.className = "screen answered";
    } else {
      state.textContent = missedText(simulated.status);
      screen.className = "screen missed";
    }
  }

  function renderSms(message) {
    const sms = byId("phone-sms");
    if (!message) return;
    sms.hidden = false;
    byId("phone-sms-text").textContent = message.Content;
  }

  function missedText(providerStatus) {
    const status = providerStatus.toLowerCase();
    if (status === "noanwser" || status === "noanswer" || status === "no_answer") {
      return strings.missed_unanswered;
    }
    if (status === "busy") return strings.missed_busy;
    return strings.missed;
  }

  byId("verify-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = byId("verify-result");
    result.className = "";
    result.textContent = strings.checking;
    try {
      // As the phone shows it ("0 6 2 8 1 4") or as people write it ("062-814"): digits only.
      const code = byId("code").value.replace(/[\s-]/g, "");
      const { data } = await postJSON(urls.verifyUrl, { code: code });
      result.textContent = data.verified ? data.message : data.error;
      result.className = data.verified ? "verified" : "error";
    } catch (error) {
      result.textContent = strings.network;
      result.className = "error";
    }
  });
})();
