"""Built-in ``scripted`` provider: an offline, deterministic LLM that follows the
deployment's ``[flow]`` and reacts to what the caller says.

Each reply is computed from the whole chat context (no hidden state), so the same
conversation always gets the same answer and a different caller line gets a different
one. The modules, one job each:

* :mod:`.sdr` - :class:`CallFlowPolicy`, the SDR flow: greet, ask the BANT questions,
  qualify, offer slots and book, transfer or take a message, close on "not interested"
  or a wrong number;
* :mod:`.callbacks` - "call me back tomorrow afternoon": the ``schedule_callback`` flow;
* :mod:`.intake` - :class:`IntakePolicy`, the inbound receptionist (``[flow] kind =
  "intake"``): answer from the knowledge base, collect the record's fields, read back,
  record, escalate emergencies; :mod:`.intake_state` reads where such a call stands,
  :mod:`.intake_schema` joins ``[flow].questions`` with the record schema and
  :mod:`.answers` picks the sentence of a lookup result to say;
* :mod:`.parsing` - what callers say, read into values (intents, budget, authority,
  timeline, the slot picked); :mod:`.fields` and :mod:`.contact` - the same for intake
  fields (yes/no, enum synonyms, questions, language; names, phone numbers, addresses,
  units);
* :mod:`.conversation` - reading the chat context (turns, answers, offers);
* :mod:`.phrases` - what the model says, in English and Spanish.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voicekit_core import hookimpl
from voicekit_core.providers import Provider

from .callbacks import CALLBACK_TOOL, detect_callback
from .intake import IntakePolicy
from .intake_schema import intake_problems
from .parsing import (
    DNC_PATTERNS,
    INTENTS,
    detect_intent,
    match_slot,
    parse_authority,
    parse_budget_usd,
    parse_timeline_months,
    qualification_arguments,
)
from .phrases import INTAKE_PHRASES, PHRASES
from .sdr import CallFlowPolicy

if TYPE_CHECKING:
    from livekit.agents import llm

    from voicekit_core.calls import CallContext
    from voicekit_core.config import ModelRef

#: The former private name, kept for existing imports.
_match_slot = match_slot


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
    """The ``scripted`` LLM for ``call``: a ScriptedLLM running the deployment's flow
    (:class:`CallFlowPolicy` for ``[flow] kind = "sdr"``, :class:`IntakePolicy` for
    ``"intake"``)."""
    from voicekit_core.scripted_llm import ScriptedLLM

    if call.config.flow.kind == "intake":
        return ScriptedLLM(IntakePolicy.for_call(call), model=ref.model or "intake-flow")
    return ScriptedLLM(CallFlowPolicy.for_call(call), model=ref.model or "call-flow")


__all__ = [
    "CALLBACK_TOOL",
    "DNC_PATTERNS",
    "INTAKE_PHRASES",
    "INTENTS",
    "PHRASES",
    "CallFlowPolicy",
    "IntakePolicy",
    "create_flow_llm",
    "detect_callback",
    "detect_intent",
    "intake_problems",
    "match_slot",
    "parse_authority",
    "parse_budget_usd",
    "parse_timeline_months",
    "qualification_arguments",
    "register_providers",
]
