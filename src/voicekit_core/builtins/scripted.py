"""Built-in ``scripted`` provider: an offline, deterministic LLM that follows the
deployment's ``[flow]`` and reacts to what the caller says.

Each reply is computed from the whole chat context (no hidden state), so the same
conversation always gets the same answer and a different caller line gets a different
one. It asks the ``[flow].questions`` in order, parses the answers (budget in USD,
authority, need, timeline in months), calls the qualification tool, offers slots from the
availability tool, books with the schedule tool, transfers or takes a message when asked
for a human, and closes politely on "not interested" or a wrong number.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from voicekit_core import hookimpl
from voicekit_core.providers import Provider

if TYPE_CHECKING:
    from livekit.agents import llm

    from voicekit_core.calls import CallContext
    from voicekit_core.config import ModelRef
    from voicekit_core.scripted_llm import Reply


@hookimpl
def register_providers(register):
    register(
        Provider(
            name="scripted",
            llm=create_flow_llm,
            description="offline deterministic model following the deployment's [flow]",
        )
    )


def create_flow_llm(ref: ModelRef, call: CallContext) -> llm.LLM:
    """The ``scripted`` LLM for ``call``: a ScriptedLLM running a :class:`CallFlowPolicy`."""
    from voicekit_core.scripted_llm import ScriptedLLM

    return ScriptedLLM(CallFlowPolicy.for_call(call), model=ref.model or "call-flow")


# -- what callers say -----------------------------------------------------------------

# Checked in this order: a refusal ("I'm not interested") must never read as a wrong number.
INTENTS: dict[str, tuple[str, ...]] = {
    "not_interested": (
        r"not interested",
        r"no(t)? thanks?\b",
        r"stop calling",
        r"take me off",
        r"do not call",
        r"don'?t call",
        r"remove (me|my number)",
        r"no me interesa",
        r"no estoy interesad",
    ),
    "wrong_number": (
        r"wrong (number|person)",
        r"no one (here )?(by|with) that name",
        r"(there'?s )?nobody (here )?(called|named|by that name)",
        r"\bthis is not (?!(a|an|the|really|good|right|what|something|interesting|my)\b)\w+",
        r"\bi'?m not (him|her|that person|the person you)",
        r"you have the wrong",
        r"n[úu]mero equivocado",
        r"se equivoc[óo]",
        r"no (hay|conozco a) nadie",
    ),
    "wants_human": (
        r"\b(real|actual|live) (person|human)",
        r"\b(speak|talk) (to|with) (a |an |some)?(human|person|someone|representative|rep|sales ?person|agent)",
        r"\bhuman\b",
        r"\brepresentative\b",
        r"transfer me",
        r"hablar con (una persona|alguien|un humano)",
        r"\bpersona real\b",
    ),
}
DNC_PATTERNS = (
    r"stop calling",
    r"take me off",
    r"do not call",
    r"don'?t call",
    r"remove (me|my number)",
)


def detect_intent(text: str) -> str | None:
    """``wrong_number`` / ``not_interested`` / ``wants_human`` or None, by keyword patterns."""
    lowered = text.lower()
    for intent, patterns in INTENTS.items():
        if any(re.search(p, lowered) for p in patterns):
            return intent
    return None


_MONEY = re.compile(
    r"(?:\$|usd|€|eur)?\s*(\d+(?:[.,]\d+)?)\s*(k|thousand|mil|m|million|millones)?\b",
    re.I,
)
_NO_BUDGET = re.compile(
    r"\b(no budget|nothing|zero|none|sin presupuesto|no tenemos presupuesto)\b", re.I
)
_WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "a couple of": 2,
    "a few": 3,
    "un": 1,
    "uno": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "seis": 6,
}


_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "a hundred": 100,
    "hundred": 100,
    "cinco": 5,
    "diez": 10,
    "veinte": 20,
    "treinta": 30,
    "cincuenta": 50,
    "cien": 100,
}


def _digits_for_words(text: str) -> str:
    for word, value in sorted(_NUMBER_WORDS.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(rf"\b{word}\b", str(value), text, flags=re.I)
    return text


def parse_budget_usd(text: str) -> float | None:
    """A budget in USD from free text (``"about $50k"``, ``"fifty thousand"`` -> 50000.0);
    0.0 for "no budget"; None if unstated."""
    text = _digits_for_words(text)
    best = None
    for number, scale in _MONEY.findall(text):
        if not scale and re.fullmatch(r"(19|20)\d\d", number):
            continue  # a year ("for 2026"), not an amount
        value = float(number.replace(",", ""))
        scale = scale.lower()
        if scale in ("k", "thousand", "mil"):
            value *= 1_000
        elif scale in ("m", "million", "millones"):
            value *= 1_000_000
        if "$" in text or scale or value >= 1000:
            best = max(best or 0.0, value)
    if best is None and _NO_BUDGET.search(text):
        return 0.0
    return best


def parse_authority(text: str) -> str:
    """``decision_maker`` / ``influencer`` / ``none`` / ``unknown`` from free text."""
    t = text.lower()
    if re.search(r"\b(not me|no authority|no decido|don'?t decide|not my (call|decision))\b", t):
        return "none"
    if re.search(
        r"(check|run it by|talk to|ask) (with )?(my|our|the) |approv|sign[- ]off from|"
        r"my (boss|manager|cfo|ceo)|committee|consultar|aprobaci",
        t,
    ):
        return "influencer"
    if re.search(
        r"\b(i|me)\b.*\b(decide|sign|approve|own the budget|final say|call the shots)|"
        r"decision[- ]maker|it'?s my call|yo decido|soy quien decide|yes\b|s[ií]\b",
        t,
    ):
        return "decision_maker"
    return "unknown"


def parse_timeline_months(text: str) -> int | None:
    """Months until the prospect wants a solution (``"next quarter"`` -> 3); None if vague."""
    t = re.sub(r"\bnot (right )?now\b", "", text.lower())
    fixed = [
        (r"\b(asap|right away|immediately|this month|now|cuanto antes|este mes)\b", 1),
        (r"\bnext month|pr[óo]ximo mes\b", 1),
        (r"\bthis quarter|este trimestre\b", 2),
        (r"\bnext quarter|pr[óo]ximo trimestre\b", 3),
        (r"\b(this|end of the) year|este a[ñn]o\b", 6),
        (r"\bnext year|pr[óo]ximo a[ñn]o|el a[ñn]o que viene\b", 12),
        (r"\b(no rush|no timeline|someday|not (any time|anytime) soon|sin prisa)\b", 24),
    ]
    match = re.search(
        r"(\d+|"
        + "|".join(_WORD_NUMBERS)
        + r")\s*(weeks?|months?|years?|semanas?|mes(?:es)?|a[ñn]os?)",
        t,
    )
    if match:
        raw = match.group(1)
        count = int(raw) if raw.isdigit() else _WORD_NUMBERS[raw]
        unit = match.group(2)
        if unit.startswith(("week", "semana")):
            return max(1, round(count / 4))
        if unit.startswith(("year", "año", "ano")):
            return count * 12
        return count
    for pattern, months in fixed:
        if re.search(pattern, t):
            return months
    return None


# -- phrases --------------------------------------------------------------------------

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "ack": "Thanks, that helps.",
        "qualified_no_calendar": "That sounds like a great fit. A colleague will reach out to set up a meeting. Thanks for your time!",
        "ask_time": "That sounds like a great fit. What day and time would suit you for a 30-minute call with our team?",
        "nurture": "Thanks for being so open. It sounds like the timing isn't quite right, so I'll send you some material and check back in a few months. Have a great day!",
        "disqualified": "Thanks for your time. It doesn't sound like we're the right fit right now, but I appreciate the chat. Goodbye!",
        "offer": "I can offer {slots}. Which works best for you?",
        "no_slots": "I couldn't find a free slot in the next days. A colleague will email you some options. Thanks!",
        "which_slot": "Sorry, which of those times works for you? {slots}.",
        "ask_email": "Great. What's the best email to send the invite to?",
        "booked": "You're all set for {when}. You'll get a Teams invite by email. Thanks, and talk soon!",
        "tool_error": "Sorry, I ran into a problem: {error}",
        "wrong_number": "I'm so sorry to have bothered you. I'll update our records. Have a good day!",
        "not_interested": "I understand, thanks for your time. I won't take any more of it. Goodbye!",
        "dnc": "Understood. I'll make sure we don't call you again. Goodbye!",
        "transferring": "Of course, let me connect you with a colleague now.",
        "transferred": "You're being connected now.",
        "transfer_failed": "I'm sorry, I couldn't reach anyone right now. Can I take a message so they can call you back?",
        "ask_message": "Everyone on the team is on calls at the moment. Can I take a message so they can call you back?",
        "message_taken": "Got it, I'll pass that on and someone will call you back. Goodbye!",
        "joiner": "Great.|Thanks.|Got it.|Understood.",
        "greeting": "Hi, this is an assistant calling from {company}. Do you have a minute?",
    },
    "es": {
        "ack": "Gracias, eso ayuda.",
        "qualified_no_calendar": "Suena a que encajamos muy bien. Un colega le contactará para agendar una reunión. ¡Gracias por su tiempo!",
        "ask_time": "Suena a que encajamos muy bien. ¿Qué día y hora le vendría bien para una llamada de 30 minutos con nuestro equipo?",
        "nurture": "Gracias por su franqueza. Parece que aún no es el momento, así que le enviaré información y volveremos a hablar en unos meses. ¡Que tenga un buen día!",
        "disqualified": "Gracias por su tiempo. Parece que ahora no somos la mejor opción, pero agradezco la conversación. ¡Adiós!",
        "offer": "Puedo ofrecerle {slots}. ¿Cuál le viene mejor?",
        "no_slots": "No encontré huecos libres en los próximos días. Un colega le enviará opciones por correo. ¡Gracias!",
        "which_slot": "Perdone, ¿cuál de estos horarios le viene bien? {slots}.",
        "ask_email": "Perfecto. ¿A qué correo le envío la invitación?",
        "booked": "Listo, queda agendado para {when}. Recibirá una invitación de Teams por correo. ¡Gracias y hasta pronto!",
        "tool_error": "Perdone, tuve un problema: {error}",
        "wrong_number": "Disculpe la molestia. Actualizaré nuestros registros. ¡Que tenga un buen día!",
        "not_interested": "Lo entiendo, gracias por su tiempo. No le quito más. ¡Adiós!",
        "dnc": "Entendido. Nos aseguraremos de no volver a llamarle. ¡Adiós!",
        "transferring": "Por supuesto, le paso con un colega ahora mismo.",
        "transferred": "Le estamos conectando.",
        "transfer_failed": "Lo siento, no pude localizar a nadie ahora. ¿Quiere dejar un mensaje para que le devuelvan la llamada?",
        "ask_message": "Todo el equipo está en llamadas ahora mismo. ¿Quiere dejar un mensaje para que le devuelvan la llamada?",
        "message_taken": "Anotado, se lo paso y le devolverán la llamada. ¡Adiós!",
        "joiner": "Perfecto.|Gracias.|Entendido.|De acuerdo.",
        "greeting": "Hola, le llama un asistente de {company}. ¿Tiene un minuto?",
    },
}

_ORDINALS = {
    0: (r"\bfirst\b", r"\bprimer[oa]?\b", r"\bthe earliest\b"),
    1: (r"\bsecond\b", r"\bsegund[oa]\b"),
    2: (r"\bthird\b", r"\btercer[oa]?\b", r"\blast (one|option)\b", r"\b[úu]ltim[oa]\b"),
}
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


@dataclass
class _Turn:
    kind: str  # "message" | "function_call" | "function_call_output"
    role: str = ""
    text: str = ""
    name: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    output: str = ""
    is_error: bool = False


def _turns(chat_ctx: llm.ChatContext) -> list[_Turn]:
    turns = []
    for item in chat_ctx.items:
        if item.type == "message" and item.role in ("user", "assistant"):
            turns.append(_Turn("message", role=item.role, text=item.text_content or ""))
        elif item.type == "function_call":
            try:
                args = json.loads(item.arguments or "{}")
            except json.JSONDecodeError:
                args = {}
            turns.append(_Turn("function_call", name=item.name, arguments=args))
        elif item.type == "function_call_output":
            turns.append(
                _Turn(
                    "function_call_output",
                    name=item.name,
                    output=item.output,
                    is_error=item.is_error,
                )
            )
    return turns


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None


@dataclass
class CallFlowPolicy:
    """The scripted model's decision function. See the module docstring."""

    questions: list[tuple[str, str]]  # (key, question text in the call's language)
    qualify_tool: str
    availability_tool: str
    schedule_tool: str
    transfer_tool: str
    lead_email: str | None = None
    company: str = ""
    language: str = "en"

    @classmethod
    def for_call(cls, call: CallContext) -> CallFlowPolicy:
        config = call.config
        flow = config.flow
        return cls(
            questions=[(q.key, config.localized(q.ask)) for q in flow.questions],
            qualify_tool=flow.qualify_tool,
            availability_tool=flow.availability_tool,
            schedule_tool=flow.schedule_tool,
            transfer_tool=flow.transfer_tool,
            lead_email=(call.lead.email if call.lead else None),
            company=str((config.campaign.model_extra or {}).get("company", config.campaign.name)),
            language=config.agent.language if config.agent.language in PHRASES else "en",
        )

    def say(self, key: str, **values: Any) -> str:
        return PHRASES[self.language][key].format(**values)

    # The entry point livekit calls through ScriptedLLM.
    def __call__(self, chat_ctx: llm.ChatContext, tools: list[str]) -> Reply | str | None:
        from voicekit_core.scripted_llm import Reply

        turns = _turns(chat_ctx)
        if not turns:
            return self.say("greeting", company=self.company)
        last = turns[-1]
        if last.kind == "function_call_output":
            return self._after_tool(last, turns, tools)
        if last.kind == "message" and last.role == "user":
            return self._after_user(last.text, turns, tools)
        return Reply()

    # -- reacting to tool results --------------------------------------------------
    def _after_tool(
        self, result: _Turn, turns: list[_Turn], tools: list[str]
    ) -> Reply | str | None:
        from voicekit_core.scripted_llm import Reply, ToolCall

        end = [ToolCall("end_call")] if "end_call" in tools else []
        if result.name == "end_call":
            return None
        if result.is_error:
            if result.name == self.transfer_tool:
                return self.say("transfer_failed")
            return self.say("tool_error", error=result.output)
        data = _json(result.output)
        if result.name == self.qualify_tool:
            status = (data or {}).get("status") if isinstance(data, dict) else None
            if status == "qualified":
                if self.availability_tool in tools:
                    return Reply(tool_calls=[ToolCall(self.availability_tool, {})])
                if self.schedule_tool in tools:
                    return self.say("ask_time")
                return Reply(self.say("qualified_no_calendar"), end)
            key = "disqualified" if status == "disqualified" else "nurture"
            return Reply(self.say(key), end)
        if result.name == self.availability_tool:
            slots = _slots(data)
            if not slots:
                return Reply(self.say("no_slots"), end)
            return self.say("offer", slots=_spoken_list([s["label"] for s in slots], self.language))
        if result.name == self.schedule_tool:
            when = (
                (data or {}).get("label") or (data or {}).get("start", "")
                if isinstance(data, dict)
                else ""
            )
            return Reply(self.say("booked", when=when), end)
        if result.name == self.transfer_tool:
            return Reply(self.say("transferred"))
        if result.name == "take_message":
            return Reply(self.say("message_taken"), end)
        return self.say("ack")

    # -- reacting to the caller ----------------------------------------------------
    def _after_user(self, text: str, turns: list[_Turn], tools: list[str]) -> Reply | str:
        from voicekit_core.scripted_llm import Reply, ToolCall

        end = [ToolCall("end_call")] if "end_call" in tools else []
        previous_agent = _last_agent_text(turns[:-1])
        asked_for_message = previous_agent in (self.say("ask_message"), self.say("transfer_failed"))
        if asked_for_message and "take_message" in tools:
            return Reply(tool_calls=[ToolCall("take_message", {"message": text})])
        intent = detect_intent(text)
        if intent == "wrong_number":
            return Reply(
                self.say("wrong_number"), _with_args(end, disposition="wrong_number", reason=text)
            )
        if intent == "not_interested":
            if any(re.search(p, text.lower()) for p in DNC_PATTERNS):
                return Reply(
                    self.say("dnc"), _with_args(end, disposition="do_not_call", reason=text)
                )
            return Reply(
                self.say("not_interested"),
                _with_args(end, disposition="not_interested", reason=text),
            )
        if intent == "wants_human":
            if self.transfer_tool in tools:
                return Reply(
                    self.say("transferring"),
                    [ToolCall(self.transfer_tool, {"reason": text})],
                )
            return self.say("ask_message")

        offered = _last_offer(turns)
        if offered is not None and self.schedule_tool in tools:
            return self._pick_slot(text, offered, turns)
        if previous_agent == self.say("ask_email"):
            return self._pick_slot(text, _last_offer(turns, include_answered=True) or [], turns)

        answers = _answers(turns, self.questions)
        for key, question in self.questions:
            if key not in answers:
                joiners = self.say("joiner").split("|")
                prefix = joiners[(len(answers) - 1) % len(joiners)] + " " if answers else ""
                return prefix + question
        if self.qualify_tool in tools and not _called(turns, self.qualify_tool):
            return Reply(tool_calls=[ToolCall(self.qualify_tool, qualification_arguments(answers))])
        if previous_agent == self.say("ask_time") and self.schedule_tool in tools:
            return Reply(
                tool_calls=[ToolCall(self.schedule_tool, {"when": text, **self._email_arg(turns)})]
            )
        return self.say("ack")

    def _pick_slot(self, text: str, slots: list[dict[str, Any]], turns: list[_Turn]) -> Reply | str:
        from voicekit_core.scripted_llm import Reply, ToolCall

        slot = _match_slot(text, slots) or _match_slot(_chosen_before(turns), slots)
        if slot is None:
            return self.say(
                "which_slot", slots=_spoken_list([s["label"] for s in slots], self.language)
            )
        email = self._email_arg(turns)
        if not email:
            return self.say("ask_email")
        return Reply(tool_calls=[ToolCall(self.schedule_tool, {"start": slot["start"], **email})])

    def _email_arg(self, turns: list[_Turn]) -> dict[str, str]:
        for turn in reversed(turns):
            if turn.kind == "message" and turn.role == "user":
                match = _EMAIL.search(turn.text)
                if match:
                    return {"attendee_email": match.group(0)}
        return {"attendee_email": self.lead_email} if self.lead_email else {}


def qualification_arguments(answers: dict[str, str]) -> dict[str, Any]:
    """Arguments for the qualification tool, parsed from the BANT answers (free text)."""
    args: dict[str, Any] = {}
    if "budget" in answers:
        args["budget_usd"] = parse_budget_usd(answers["budget"])
    if "authority" in answers:
        args["authority"] = parse_authority(answers["authority"])
    if "need" in answers:
        args["need"] = answers["need"]
    if "timeline" in answers:
        args["timeline_months"] = parse_timeline_months(answers["timeline"])
    for key, value in answers.items():
        if key not in ("budget", "authority", "need", "timeline"):
            args.setdefault("notes", "")
            args["notes"] += f"{key}: {value}. "
    return args


def _with_args(calls: list[Any], **arguments: Any) -> list[Any]:
    for call in calls:
        call.arguments.update(arguments)
    return calls


def _last_agent_text(turns: list[_Turn]) -> str:
    for turn in reversed(turns):
        if turn.kind == "message" and turn.role == "assistant":
            return turn.text
    return ""


def _called(turns: list[_Turn], name: str) -> bool:
    return any(t.kind == "function_call" and t.name == name for t in turns)


def _answers(turns: list[_Turn], questions: list[tuple[str, str]]) -> dict[str, str]:
    """``{question key: the caller's reply}`` for every question asked and answered."""
    by_text = {text: key for key, text in questions}
    answers: dict[str, str] = {}
    pending: str | None = None
    for turn in turns:
        if turn.kind != "message":
            continue
        if turn.role == "assistant":
            pending = next(
                (key for text, key in by_text.items() if text and text in turn.text), None
            )
        elif pending is not None:
            answers[pending] = turn.text
            pending = None
    return answers


def _slots(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        data = data.get("slots")
    if not isinstance(data, list):
        return []
    return [s for s in data if isinstance(s, dict) and "start" in s and "label" in s]


def _last_offer(
    turns: list[_Turn], *, include_answered: bool = False
) -> list[dict[str, Any]] | None:
    """Slots from the last availability result, if the agent has not booked since."""
    for turn in reversed(turns):
        if turn.kind == "function_call_output":
            slots = _slots(_json(turn.output))
            if slots:
                return slots
            if turn.name and not include_answered and "meeting" in turn.name:
                return None
    return None


def _chosen_before(turns: list[_Turn]) -> str:
    """The caller's reply right after the slots were offered (used once the email arrives)."""
    seen_offer = False
    for turn in turns:
        if turn.kind == "function_call_output" and _slots(_json(turn.output)):
            seen_offer = True
        elif seen_offer and turn.kind == "message" and turn.role == "user":
            return turn.text
    return ""


_DAYS = {
    "monday": ("monday", "lunes"),
    "tuesday": ("tuesday", "martes"),
    "wednesday": ("wednesday", "miércoles", "miercoles"),
    "thursday": ("thursday", "jueves"),
    "friday": ("friday", "viernes"),
    "saturday": ("saturday", "sábado"),
    "sunday": ("sunday", "domingo"),
}


def _match_slot(text: str, slots: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The slot the caller picked: by ordinal ("the second"), weekday and/or hour."""
    if not text:
        return None
    lowered = text.lower()
    for index, patterns in _ORDINALS.items():
        if index < len(slots) and any(re.search(p, lowered) for p in patterns):
            return slots[index]
    candidates = slots
    days = [day for day, names in _DAYS.items() if any(n in lowered for n in names)]
    if days:
        candidates = [
            s for s in candidates if any(n in s["label"].lower() for d in days for n in _DAYS[d])
        ]
    hour = re.search(r"\b(\d{1,2})(?::(\d{2}))?(?!st|nd|rd|th)\s*(am|pm|a\.m\.|p\.m\.)?", lowered)
    if hour:
        wanted = int(hour.group(1)) % 12 + (12 if (hour.group(3) or "").startswith("p") else 0)
        timed = [s for s in candidates if _label_hour(s["label"]) in (wanted, wanted + 12)]
        if timed:
            candidates = timed
        elif not days:
            candidates = []
    if candidates and (days or hour) and len(candidates) <= len(slots):
        return candidates[0]
    return None


def _label_hour(label: str) -> int | None:
    match = re.search(r"\b(\d{1,2})(?::\d{2})?\s*(AM|PM)", label, re.I)
    if not match:
        match24 = re.search(r"\b(\d{1,2}):\d{2}\b", label)
        return int(match24.group(1)) if match24 else None
    return int(match.group(1)) % 12 + (12 if match.group(2).upper() == "PM" else 0)


def _spoken_list(items: list[str], language: str) -> str:
    joiner = " or " if language != "es" else " o "
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + joiner + items[-1]
