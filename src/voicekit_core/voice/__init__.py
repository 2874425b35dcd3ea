"""Real audio without a room: ``voicekit simulate CONFIG --voice``.

* :mod:`.line` - the simulated phone line: a livekit ``AudioInput`` that streams the
  caller's audio as 20 ms frames at real-time pace, and an ``AudioOutput`` that plays the
  agent's audio at the same pace (so barge-in and playout behave as on a call);
* :mod:`.tape` - both sides on one timeline, written as a two-channel WAV;
* :mod:`.caller` - the caller's voice (Piper), silence, noise, voicemail greeting and beep;
* :mod:`.latency` - per turn: end of caller speech to first agent audio, with livekit's
  component metrics;
* :mod:`.amd` - answering-machine detection on the line audio (the fallback when
  livekit's LLM-based AMD cannot run: no room, no model that can classify);
* :mod:`.call` - plays a caller script through a real voice ``AgentSession``.

Everything here imports livekit lazily through its callers; nothing loads at
``import voicekit_core``.
"""
