/* voicekit web voice widget: a floating "talk to us" button that calls the deployment's
 * agent from the browser. Plain ES2017, no build step, no third-party host: the voice
 * library (livekit-client) and the join token come from the server that serves this file.
 *
 *   <script src="/widget.js" data-label="Talk to us" data-position="bottom-right"
 *           data-color="#2f5bea" defer></script>
 *
 * (with the dashboard's own scheme and host in src when the page lives elsewhere).
 * data-label: the button's text; data-position: bottom-right (default), bottom-left,
 * top-right or top-left; data-color: the button's CSS colour. The page's origin must be
 * in [plugins.dashboard] widget_allowed_origins. See docs/widget.md.
 *
 * Everything renders inside a Shadow DOM (the page's CSS does not reach it); text goes in
 * with textContent only. The host element's data-state attribute mirrors the call state:
 * idle, connecting, waiting, listening, thinking, speaking, ended, error.
 */
(function () {
  "use strict";

  var LIVEKIT_FILE = "static/vendor/livekit-client-2.23.0.umd.js";
  var TOKEN_PATH = "api/widget/token";
  var AGENT_STATE_ATTRIBUTE = "lk.agent.state";
  var AGENT_WAIT_MS = 20000; // no agent in the room by then: the worker is down or busy
  var MAX_MESSAGE = 300;
  var POSITIONS = ["bottom-right", "bottom-left", "top-right", "top-left"];
  var TEXT = {
    label: "Talk to us",
    connecting: "Connecting\u2026",
    waiting: "Waiting for the agent\u2026",
    listening: "Listening",
    thinking: "Thinking\u2026",
    speaking: "Agent speaking",
    ended: "Call ended",
    hangUp: "Hang up",
    close: "Close",
    enableAudio: "Tap to hear the agent",
    noAgent: "No agent answered; please try again later.",
    agentLeft: "The agent ended the call.",
    unreachable: "Could not reach the voice service (is this site allowed to use it?).",
    refused: "The voice server refused the call",
    doctor: "its operator can run voicekit doctor to find out why.",
    library: "Could not load the voice library.",
    badAnswer: "The voice service sent an unreadable answer.",
    insecure: "The microphone needs a secure (https) page.",
    micDenied: "Microphone access was denied; allow it in the browser to talk.",
    micMissing: "No microphone was found.",
    micBusy: "The microphone is in use by another application.",
  };

  var CSS = [
    ":host { all: initial; position: fixed; z-index: 2147483000; bottom: 20px; right: 20px;",
    "  font: 14px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1b1f24;",
    "  --vk-color: #2f5bea; }",
    ":host([data-position='bottom-left']) { right: auto; left: 20px; }",
    ":host([data-position='top-right']) { bottom: auto; top: 20px; }",
    ":host([data-position='top-left']) { bottom: auto; top: 20px; right: auto; left: 20px; }",
    ".vk { display: flex; flex-direction: column; align-items: flex-end; gap: 10px; }",
    ":host([data-position$='left']) .vk { align-items: flex-start; }",
    ":host([data-position^='top']) .vk { flex-direction: column-reverse; }",
    "button { font: inherit; cursor: pointer; border: 0; }",
    "button:focus-visible { outline: 3px solid #1b1f24; outline-offset: 2px; }",
    ".launch { display: inline-flex; align-items: center; gap: 8px; padding: 12px 18px;",
    "  border-radius: 999px; background: var(--vk-color); color: #fff; font-weight: 600;",
    "  box-shadow: 0 4px 14px rgba(0, 0, 0, .22); }",
    ".launch svg { width: 18px; height: 18px; fill: currentColor; flex: none; }",
    ".launch[hidden], .panel[hidden], .actions button[hidden] { display: none; }",
    ".panel { box-sizing: border-box; width: 280px; max-width: calc(100vw - 40px);",
    "  padding: 12px 14px; border-radius: 12px; background: #fff; display: flex;",
    "  flex-direction: column; gap: 10px; box-shadow: 0 6px 24px rgba(0, 0, 0, .2); }",
    ".row { display: flex; align-items: flex-start; gap: 8px; }",
    ".dot { width: 10px; height: 10px; margin-top: 5px; border-radius: 50%; background: #9aa3ad;",
    "  flex: none; }",
    ".status { overflow-wrap: anywhere; }",
    ".vk[data-state='connecting'] .dot, .vk[data-state='waiting'] .dot,",
    ".vk[data-state='thinking'] .dot { background: #d69e2e; animation: vk-pulse 1.2s infinite; }",
    ".vk[data-state='listening'] .dot { background: #1f9d55; }",
    ".vk[data-state='speaking'] .dot { background: var(--vk-color);",
    "  animation: vk-pulse .8s infinite; }",
    ".vk[data-state='error'] .dot { background: #d64545; }",
    ".actions { display: flex; justify-content: flex-end; gap: 8px; flex-wrap: wrap; }",
    ".actions button { padding: 6px 12px; border-radius: 8px; }",
    ".hangup { background: #d64545; color: #fff; }",
    ".secondary { background: #eef1f4; color: #1b1f24; }",
    "@keyframes vk-pulse { 50% { opacity: .35; } }",
    "@media (prefers-reduced-motion: reduce) { .dot { animation: none !important; } }",
  ].join("\n");

  if (window.__voicekitWidget) return; // the script was included twice
  window.__voicekitWidget = true;

  var script = document.currentScript || document.querySelector("script[src*='widget.js']");
  if (!script || !script.src) return;
  // the dashboard's base URL (it may live under a path prefix): token and library come from it
  var base = new URL("./", script.src).href;
  var options = readOptions(script);
  var livekitLoading = null;
  var call = null; // the call in progress: {room, connected, ended, timer, agentSeen, ...}
  var ui = null;

  function readOptions(tag) {
    var data = tag.dataset || {};
    var position = POSITIONS.indexOf(data.position) >= 0 ? data.position : POSITIONS[0];
    var color = data.color && cssColor(data.color) ? data.color : "";
    return { label: (data.label || TEXT.label).slice(0, 60), position: position, color: color };
  }

  function cssColor(value) {
    return !!(window.CSS && window.CSS.supports && window.CSS.supports("color", value));
  }

  // -- rendering (createElement + textContent only) -----------------------------------

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function button(className, text, testid, onClick) {
    var node = element("button", className, text);
    node.type = "button";
    node.setAttribute("data-testid", testid);
    node.addEventListener("click", onClick);
    return node;
  }

  function micIcon() {
    var ns = "http://www.w3.org/2000/svg"; // an XML namespace name, never fetched
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute(
      "d",
      "M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 " +
        "6 6.92V21h2v-3.08A7 7 0 0 0 19 11h-2z"
    );
    svg.appendChild(path);
    return svg;
  }

  function mount() {
    // a custom element name: page rules written for div or span do not match the host
    var host = element("voicekit-widget");
    host.setAttribute("data-voicekit-widget", "");
    host.setAttribute("data-position", options.position);
    if (options.color) host.style.setProperty("--vk-color", options.color);
    var root = host.attachShadow({ mode: "open" });
    var style = element("style");
    style.textContent = CSS;
    var box = element("div", "vk");
    box.setAttribute("part", "widget");

    var panel = element("div", "panel");
    panel.hidden = true;
    panel.setAttribute("data-testid", "voicekit-widget-panel");
    var row = element("div", "row");
    var status = element("span", "status");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    status.setAttribute("data-testid", "voicekit-widget-status");
    row.appendChild(element("span", "dot"));
    row.appendChild(status);
    var actions = element("div", "actions");
    var enableAudio = button("secondary", TEXT.enableAudio, "voicekit-widget-audio", unlockAudio);
    var hangUp = button("hangup", TEXT.hangUp, "voicekit-widget-hangup", function () {
      endCall(call, "ended", TEXT.ended);
    });
    var close = button("secondary", TEXT.close, "voicekit-widget-close", function () {
      panel.hidden = true;
      ui.launch.focus();
    });
    actions.appendChild(enableAudio);
    actions.appendChild(hangUp);
    actions.appendChild(close);
    panel.appendChild(row);
    panel.appendChild(actions);

    var launch = button("launch", "", "voicekit-widget-button", startCall);
    launch.appendChild(micIcon());
    launch.appendChild(element("span", "", options.label));
    // fetch the voice library as soon as the visitor shows interest
    launch.addEventListener("pointerenter", preload, { once: true });
    launch.addEventListener("focus", preload, { once: true });

    box.appendChild(panel);
    box.appendChild(launch);
    root.appendChild(style);
    root.appendChild(box);
    document.body.appendChild(host);
    ui = {
      host: host,
      root: root,
      box: box,
      panel: panel,
      status: status,
      launch: launch,
      hangUp: hangUp,
      close: close,
      enableAudio: enableAudio,
    };
    show("idle");
    window.addEventListener("pagehide", function () {
      endCall(call, "ended", TEXT.ended);
    });
  }

  /** Show ``state`` (with ``message`` for ended/error) in the panel and the buttons. */
  function show(state, message) {
    var live = ["connecting", "waiting", "listening", "thinking", "speaking"].indexOf(state) >= 0;
    ui.host.setAttribute("data-state", state);
    ui.box.setAttribute("data-state", state);
    ui.status.textContent = String(message || TEXT[state] || "").slice(0, MAX_MESSAGE);
    ui.panel.hidden = state === "idle";
    ui.launch.hidden = live;
    ui.hangUp.hidden = !live;
    ui.close.hidden = live;
    if (!live) ui.enableAudio.hidden = true;
  }

  // -- the call ---------------------------------------------------------------------

  function preload() {
    loadLivekit().catch(function () {
      /* reported when the visitor clicks */
    });
  }

  function loadLivekit() {
    if (window.LivekitClient && window.LivekitClient.Room) {
      return Promise.resolve(window.LivekitClient);
    }
    if (!livekitLoading) {
      livekitLoading = new Promise(function (resolve, reject) {
        var tag = document.createElement("script");
        tag.src = base + LIVEKIT_FILE;
        tag.async = true;
        tag.onload = function () {
          if (window.LivekitClient && window.LivekitClient.Room) resolve(window.LivekitClient);
          else reject(new Error(TEXT.library));
        };
        tag.onerror = function () {
          livekitLoading = null; // let a later click try again
          tag.remove();
          reject(new Error(TEXT.library));
        };
        document.head.appendChild(tag);
      });
    }
    return livekitLoading;
  }

  async function fetchToken() {
    var response;
    try {
      // a "simple" POST: no body, no custom header, no cookies, so no preflight
      response = await fetch(base + TOKEN_PATH, {
        method: "POST",
        mode: "cors",
        credentials: "omit",
        cache: "no-store",
      });
    } catch (err) {
      throw new Error(TEXT.unreachable); // network failure, or CORS refused this origin
    }
    var data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      if (response.status === 429) {
        var wait = response.headers.get("Retry-After");
        throw new Error(
          "Too many calls from this network; try again " + (wait ? "in " + wait + " s." : "later.")
        );
      }
      var detail = data && typeof data.detail === "string" ? data.detail : "";
      throw new Error(detail || "The voice service answered HTTP " + response.status + ".");
    }
    var usable =
      data && typeof data.server_url === "string" && typeof data.participant_token === "string";
    if (!usable) {
      throw new Error(TEXT.badAnswer);
    }
    return data;
  }

  async function startCall() {
    if (call) return;
    var session = {
      room: null,
      microphone: null,
      connected: false,
      ended: false,
      timer: 0,
      agentSeen: false,
      agentState: "",
      media: [],
    };
    call = session;
    show("connecting");
    try {
      if (!window.isSecureContext || !navigator.mediaDevices) throw new Error(TEXT.insecure);
      var LK = await loadLivekit();
      // the microphone first: a visitor who refuses it gets no token, so no agent is
      // dispatched into a room nobody can talk in
      try {
        session.microphone = await LK.createLocalAudioTrack({
          echoCancellation: true,
          noiseSuppression: true,
          autoGainControl: true,
        });
      } catch (err) {
        throw microphoneError(err);
      }
      if (session.ended) return stopMicrophone(session); // hung up meanwhile
      var token = await fetchToken();
      if (session.ended) return;
      var room = new LK.Room({ adaptiveStream: false, dynacast: false });
      session.room = room;
      listen(LK, room, session);
      try {
        await room.connect(token.server_url, token.participant_token);
      } catch (err) {
        throw connectError(err);
      }
      session.connected = true;
      if (session.ended) return;
      await room.localParticipant.publishTrack(session.microphone);
      if (!room.canPlaybackAudio) ui.enableAudio.hidden = false;
      if (!findAgent(room, session)) {
        show("waiting");
        session.timer = window.setTimeout(function () {
          endCall(session, "error", TEXT.noAgent);
        }, AGENT_WAIT_MS);
      }
    } catch (err) {
      endCall(session, "error", (err && err.message) || String(err));
    }
  }

  function stopMicrophone(session) {
    if (session.microphone) session.microphone.stop(); // the browser's mic indicator goes off
    session.microphone = null;
  }

  function listen(LK, room, session) {
    var E = LK.RoomEvent;
    room.on(E.TrackSubscribed, function (track) {
      if (track.kind !== "audio") return;
      var media = track.attach();
      media.setAttribute("data-testid", "voicekit-widget-audio-track");
      ui.root.appendChild(media); // audio plays from inside the shadow root
      session.media.push(media);
    });
    room.on(E.TrackUnsubscribed, function (track) {
      track.detach().forEach(function (media) {
        media.remove();
      });
    });
    room.on(E.ParticipantConnected, function () {
      findAgent(room, session);
    });
    room.on(E.ParticipantAttributesChanged, function (changed, participant) {
      if (participant !== room.localParticipant) findAgent(room, session);
    });
    room.on(E.ActiveSpeakersChanged, function (speakers) {
      if (session.agentState || !session.agentSeen) return; // the agent says its own state
      var talking = speakers.some(function (p) {
        return p !== room.localParticipant;
      });
      show(talking ? "speaking" : "listening");
    });
    room.on(E.ParticipantDisconnected, function (participant) {
      if (isAgent(participant)) endCall(session, "ended", TEXT.agentLeft);
    });
    room.on(E.AudioPlaybackStatusChanged, function () {
      if (!session.ended) ui.enableAudio.hidden = room.canPlaybackAudio;
    });
    room.on(E.Disconnected, function () {
      // a failed join disconnects too, before connect() rejects with the reason
      if (session.connected) endCall(session, "ended", TEXT.ended);
    });
  }

  function isAgent(participant) {
    var attributes = participant.attributes || {};
    return !!(participant.isAgent || attributes[AGENT_STATE_ATTRIBUTE]);
  }

  /** Show the agent's state if it is in the room; true when it is. */
  function findAgent(room, session) {
    if (session.ended) return false;
    var agent = null;
    room.remoteParticipants.forEach(function (participant) {
      if (!agent && isAgent(participant)) agent = participant;
    });
    if (!agent) return false;
    session.agentSeen = true;
    window.clearTimeout(session.timer);
    var state = (agent.attributes || {})[AGENT_STATE_ATTRIBUTE] || "";
    session.agentState = state;
    if (state === "speaking") show("speaking");
    else if (state === "thinking") show("thinking");
    else if (state === "initializing") show("waiting");
    else show("listening");
    return true;
  }

  function unlockAudio() {
    if (!call || !call.room) return;
    call.room.startAudio().then(
      function () {
        ui.enableAudio.hidden = true;
      },
      function () {
        /* still blocked: the button stays */
      }
    );
  }

  /** End ``session`` once: leave the room, drop the audio, show ``state``/``message``. */
  function endCall(session, state, message) {
    if (!session || session.ended) return;
    session.ended = true;
    window.clearTimeout(session.timer);
    if (call === session) call = null;
    if (session.room) {
      session.room.disconnect().catch(function () {
        /* already gone */
      });
    }
    stopMicrophone(session);
    session.media.forEach(function (media) {
      media.remove();
    });
    show(state, message);
  }

  function connectError(err) {
    var status = err && (err.status || (err.context && err.context.status));
    if (status === 401 || status === 403) {
      // livekit-client reads the server's reason (e.g. "invalid API key") into the message
      var said = String(err.message || "").replace(/^could not establish signal connection: /i, "");
      var reason = said ? ": " + said.slice(0, 120) : "";
      return new Error(TEXT.refused + " (HTTP " + status + reason + "); " + TEXT.doctor);
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  function microphoneError(err) {
    var name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError") return new Error(TEXT.micDenied);
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      return new Error(TEXT.micMissing);
    }
    if (name === "NotReadableError") return new Error(TEXT.micBusy);
    return err instanceof Error ? err : new Error(String(err));
  }

  function safeMount() {
    try {
      mount();
    } catch (err) {
      // never break the host page
      if (window.console) window.console.warn("voicekit widget:", err);
    }
  }

  if (document.body) safeMount();
  else document.addEventListener("DOMContentLoaded", safeMount);
})();
