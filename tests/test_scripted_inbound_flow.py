"""The scripted model's intake flow (``[flow] kind = "intake"``) through real text-mode
AgentSessions: knowledge answers, field-by-field collection, read-back and corrections,
the record, emergencies and transfers, Spanish, known callers, and the checks of an
intake ``[flow]`` against the record schema.

The knowledge and transfer tools here are a small in-test plugin (``FrontDesk``): the
real plugins are exercised by the property receptionist example's own tests.
"""

# No `from __future__ import annotations`: livekit reads the test tools' annotations.

import json
from datetime import datetime, timezone

import pytest
from livekit.agents import RunContext, ToolError, function_tool

from voicekit_core import ConfigError, hookimpl

UNKNOWN = "+14155550199"  # no lead: the harness's one lead is Ada Lovelace, +14155550123

CONFIG = """\
[agent]
name = "front-desk"
instructions = "You are the front desk of {campaign.company}."
greeting = "Thanks for calling Oakridge Rentals. How can I help?"

[campaign]
company = "Oakridge Rentals"

[leads]
path = "leads.csv"

[dispositions]
ticket_created = { label = "Ticket created", success = true }
emergency_escalated = { label = "Emergency escalated", success = true }
faq_answered = { label = "Question answered", success = true }

[extraction]
name = "ticket"
[extraction.fields]
kind = { type = "enum", values = ["repair", "billing", "other"], required = true }
summary = { type = "string", max_length = 60, required = true }
details = { type = "string" }
urgency = { type = "enum", values = ["emergency", "urgent", "normal", "low"], required = true }
caller_name = { type = "string" }
caller_phone = { type = "phone", required = true, confirm = true }
unit = { type = "string", max_length = 4, confirm = true }
pets = { type = "boolean" }
escalated = { type = "boolean" }
escalation_reason = { type = "string" }

[flow]
kind = "intake"
languages = ["en", "es"]

[[flow.questions]]
key = "kind"
ask = { en = "Is this about a repair, billing, or something else?", es = "¿Es por una reparación, un cobro u otra cosa?" }
synonyms = { repair = ["leak", "leaking", "broken", "not working", "fuga", "no funciona"], billing = ["bill", "charge", "cobro"], other = ["something else", "otra cosa"] }

[[flow.questions]]
key = "urgency"
default = "normal"
synonyms = { urgent = ["urgent", "asap"], low = ["not urgent", "no rush"] }

[[flow.questions]]
key = "caller_name"
parse = "name"
ask = { en = "May I have your name?", es = "¿Me dice su nombre?" }
label = { en = "your name", es = "su nombre" }

[[flow.questions]]
key = "unit"
parse = "unit"
ask = { en = "Which unit are you in?", es = "¿En qué unidad vive?" }
label = { en = "unit", es = "unidad" }

[[flow.questions]]
key = "caller_phone"
ask = { en = "What number should we call you back on?", es = "¿A qué número le llamamos?" }
label = { en = "your number", es = "su número" }

[[flow.questions]]
key = "pets"
ask = { en = "Any pets at home?", es = "¿Tiene mascotas?" }
ask_if = { kind = ["repair"] }

[flow.emergency]
transfer_target = "on_call"
say = { en = "That is an emergency: leave the building if you can. Connecting you to the on-call line.", es = "Es una emergencia: salga del edificio si puede. Le paso con la línea de guardia." }
timezone = "America/Chicago"

[[flow.emergency.rules]]
name = "gas smell"
match = ["smell gas", "gas leak", "huele a gas"]

[[flow.emergency.rules]]
name = "no heat"
match = ["no heat", "heat is out"]
months = [12, 1, 2]
"""

RENT_CHUNK = """Rent
When rent is due
Rent is due on the first of the month. A late fee of $40 is added from the sixth.

Paying
You can pay online or by check. We do not take cash."""

PETS_CHUNK = """Pets
Cats and small dogs are welcome. The pet deposit is $250 per pet."""


class FrontDesk:
    """``search_knowledge`` over two chunks and a ``transfer_call`` that can be told to
    fail; both keep what they were called with."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.transfers: list[dict] = []
        self.fail_transfer = False

    @hookimpl
    def register_tools(self, register, call):
        desk = self

        @function_tool
        async def search_knowledge(context: RunContext, query: str) -> str:
            """Search the company's documents."""
            desk.queries.append(query)
            lowered = query.lower()
            chunks = [
                {"title": title, "source": f"docs/{title.lower()}.md", "text": text}
                for title, text, words in (
                    ("Rent", RENT_CHUNK, ("rent", "pay", "late")),
                    ("Pets", PETS_CHUNK, ("pet", "dog", "cat")),
                )
                if any(w in lowered for w in words)
            ]
            return json.dumps({"results": chunks})

        @function_tool
        async def transfer_call(context: RunContext, reason: str = "", target: str = "") -> str:
            """Transfer the caller to a human."""
            desk.transfers.append({"reason": reason, "target": target})
            if desk.fail_transfer:
                raise ToolError("The transfer to on_call failed: the line was busy.")
            context.userdata.set_disposition("transferred", reason)
            context.userdata.request_end()
            return f"transferred to {target}"

        register(search_knowledge)
        register(transfer_call)


@pytest.fixture
def desk(voicekit):
    plugin = FrontDesk()
    voicekit.register(plugin, name="front_desk")
    return plugin


@pytest.fixture
def deployment(voicekit, desk):
    return voicekit.load(voicekit.write(CONFIG))


async def talk(voicekit, deployment, lines, *, phone=UNKNOWN, **options):
    """Play caller ``lines`` (stopping when the agent hangs up); returns the report."""
    options.setdefault("greet", True)
    async with voicekit.call(
        deployment, phone, offline=True, direction="inbound", **options
    ) as run:
        for line in lines:
            if run.ended:
                break
            await run.user_says(line)
    return run.report


def agent_lines(report):
    return [t.text for t in report.transcript if t.role == "assistant"]


def calls_of(report, name):
    return [t for t in report.tool_calls if t.name == name]


REPAIR = [
    "Hi, my bathroom faucet is leaking.",
    "It's Nora Quinn.",
    "Unit 4B.",
    "You can use this number.",
    "Yes, a dog.",
    "Yes, that's right.",
]


async def test_ticket_is_collected_read_back_confirmed_and_recorded(voicekit, deployment):
    report = await talk(voicekit, deployment, REPAIR)
    lines = agent_lines(report)
    assert lines[0] == "Thanks for calling Oakridge Rentals. How can I help?"
    assert lines[1] == "I can help with that. May I have your name?"  # kind came from "leaking"
    assert lines[2].endswith("Which unit are you in?")
    assert "Let me read that back: unit, 4B; your number, (415) 555-0199. Is that right?" in lines
    records = calls_of(report, "record_details")
    assert [r.arguments.get("confirmed") for r in records] == [None, True]
    assert not any(r.is_error for r in records)
    assert report.extracted == {
        "kind": "repair",
        "summary": "Repair: My bathroom faucet is leaking.",
        "details": "Hi, my bathroom faucet is leaking.",
        "urgency": "normal",
        "caller_name": "Nora Quinn",
        "caller_phone": UNKNOWN,
        "unit": "4B",
        "pets": True,
        "escalated": False,
    }
    assert report.data["extraction"]["complete"] is True
    assert report.disposition.value == "ticket_created"
    assert report.disposition_reason == "Repair: My bathroom faucet is leaking."
    assert (
        lines[-1]
        == "Thank you, Nora. I've logged your request and our team will follow up soon. Goodbye!"
    )


async def test_a_different_caller_gets_a_different_ticket(voicekit, deployment):
    report = await talk(
        voicekit,
        deployment,
        [
            "There's a charge on my bill I don't understand, no rush.",
            "Sure, my name is Omar Haddad",
            "apartment 7",
            "Please call me on 512 555 0142.",
            "Correct.",
        ],
    )
    assert report.extracted["kind"] == "billing"
    assert report.extracted["urgency"] == "low"
    assert report.extracted["caller_phone"] == "+15125550142"
    assert "pets" not in report.extracted  # ask_if: only for repairs
    assert not any("pets" in line for line in agent_lines(report))


async def test_a_declined_offer_after_an_unanswered_question_is_not_faq_answered(
    voicekit, deployment
):
    report = await talk(voicekit, deployment, ["Is the gym open on Sundays?", "No, thanks."])
    assert agent_lines(report)[-1] == "Thanks for calling Oakridge Rentals. Goodbye!"
    assert report.disposition.value == "completed"


async def test_the_same_conversation_gives_the_same_answers(voicekit, deployment):
    first = await talk(voicekit, deployment, REPAIR)
    second = await talk(voicekit, deployment, REPAIR)
    assert agent_lines(first) == agent_lines(second)
    assert first.extracted == second.extracted


async def test_questions_are_looked_up_and_answered_then_faq_answered(voicekit, deployment, desk):
    report = await talk(
        voicekit,
        deployment,
        ["Hello, when is rent due?", "Do you allow dogs?", "No, that's all, thanks."],
    )
    assert desk.queries == ["When is rent due?", "Do you allow dogs?"]
    lines = agent_lines(report)
    assert lines[1] == (
        "Rent is due on the first of the month. Is there anything else I can help you with?"
    )
    assert lines[2].startswith("Cats and small dogs are welcome.")
    assert lines[-1] == "Thanks for calling Oakridge Rentals. Goodbye!"
    assert report.disposition.value == "faq_answered"
    assert report.disposition_reason == "Do you allow dogs?"
    assert not calls_of(report, "record_details")


async def test_a_question_with_no_answer_offers_to_take_details(voicekit, deployment):
    report = await talk(
        voicekit,
        deployment,
        [
            "Is the gym open on Sundays?",
            "Yes please.",
            "Something else.",
            "Ruth Park",
            "Unit 9",
            "yes",
            "Yes.",
        ],
    )
    lines = agent_lines(report)
    assert lines[1].startswith("I'm sorry, I don't have that information.")
    assert lines[2].endswith("Is this about a repair, billing, or something else?")
    assert report.extracted["details"] == "Is the gym open on Sundays?"
    assert report.extracted["kind"] == "other"
    assert report.disposition.value == "ticket_created"


async def test_a_question_during_intake_is_answered_then_the_question_asked_again(
    voicekit, deployment
):
    report = await talk(
        voicekit,
        deployment,
        ["My heater is broken.", "Wait, how much is the pet deposit?", "Liam Ortiz"],
    )
    lines = agent_lines(report)
    assert lines[2] == (
        "The pet deposit is $250 per pet. Now, back to your request. May I have your name?"
    )
    assert lines[3].endswith("Which unit are you in?")


async def test_an_unclear_answer_is_asked_again_then_skipped(voicekit, deployment):
    report = await talk(
        voicekit,
        deployment,
        ["The sink is broken.", "Mia Chen", "hmm, the one upstairs", "I really don't know"],
    )
    lines = agent_lines(report)
    assert lines[3] == "Sorry, I didn't catch that. Which unit are you in?"
    assert lines[4].endswith("What number should we call you back on?")  # unit skipped


async def test_a_correction_at_the_read_back_is_recorded_and_read_back_again(voicekit, deployment):
    report = await talk(
        voicekit,
        deployment,
        [
            "My dishwasher is not working.",
            "Ana Silva",
            "Unit 3C",
            "this one",
            "No pets",
            "No, the unit is 3D, not 3C.",
            "Yes, that's right now.",
        ],
    )
    lines = agent_lines(report)
    assert "Thanks for correcting that. Let me read that back: unit, 3D. Is that right?" in lines
    records = [r.arguments for r in calls_of(report, "record_details")]
    assert records[1] == {"unit": "3D", "confirmed": True}  # the number stands
    assert records[2] == {"confirmed": True}
    assert report.extracted["unit"] == "3D"
    assert report.data["extraction"]["complete"] is True


async def test_a_plain_no_at_the_read_back_asks_what_to_change(voicekit, deployment):
    report = await talk(
        voicekit,
        deployment,
        [
            "My dishwasher is not working.",
            "Ana Silva",
            "Unit 3C",
            "this one",
            "No pets",
            "No.",
            "The number is 512 555 0133",
            "Yes",
        ],
    )
    lines = agent_lines(report)
    assert "Sorry about that. What should I change?" in lines
    assert report.extracted["caller_phone"] == "+15125550133"
    assert report.disposition.value == "ticket_created"


async def test_a_value_the_record_refuses_is_asked_again(voicekit, deployment):
    report = await talk(
        voicekit,
        deployment,
        ["The toilet is broken.", "Leo Kim", "Unit 12345", "this one", "no", "Unit 12", "yes"],
    )
    records = calls_of(report, "record_details")
    assert records[0].is_error and "unit" in records[0].output  # max_length 4
    lines = agent_lines(report)
    assert "Sorry, I need to check one detail. Which unit are you in?" in lines
    assert records[1].arguments == {"unit": "12"}
    assert report.extracted["unit"] == "12"
    assert report.disposition.value == "ticket_created"


async def test_gas_smell_records_an_escalated_ticket_and_transfers(voicekit, deployment, desk):
    report = await talk(
        voicekit, deployment, ["Hi, this is Tom Reyes in unit 2A. I smell gas in the hallway!"]
    )
    lines = agent_lines(report)
    assert lines[1] == (
        "That is an emergency: leave the building if you can. Connecting you to the on-call line."
    )
    assert desk.transfers == [
        {"reason": "gas smell: I smell gas in the hallway!", "target": "on_call"}
    ]
    assert [t.name for t in report.tool_calls] == ["record_details", "transfer_call", "end_call"]
    assert report.extracted == {
        "summary": "Emergency (gas smell): I smell gas in the hallway!",
        "details": "Hi, this is Tom Reyes in unit 2A. I smell gas in the hallway!",
        "urgency": "emergency",
        "caller_name": "Tom Reyes",
        "caller_phone": UNKNOWN,  # the caller id: nobody asked
        "unit": "2A",
        "escalated": True,
        "escalation_reason": "gas smell: I smell gas in the hallway!",
    }
    assert report.disposition.value == "emergency_escalated"
    assert report.disposition_reason == "gas smell: I smell gas in the hallway!"


async def test_an_emergency_mid_intake_escalates_at_once(voicekit, deployment, desk):
    report = await talk(
        voicekit, deployment, ["My stove is broken.", "Wait, now I smell gas!", "Hello?"]
    )
    assert report.disposition.value == "emergency_escalated"
    assert report.extracted["kind"] == "repair"
    assert report.extracted["details"] == "My stove is broken. Wait, now I smell gas!"
    assert len(desk.transfers) == 1


async def test_a_failed_transfer_still_ends_escalated_with_the_ticket(voicekit, deployment, desk):
    desk.fail_transfer = True
    report = await talk(voicekit, deployment, ["I smell gas in unit 5!"])
    assert agent_lines(report)[-1].startswith("I couldn't reach the on-call line")
    assert calls_of(report, "transfer_call")[0].is_error
    assert report.extracted["escalated"] is True
    assert report.disposition.value == "emergency_escalated"


def january(year=2026):
    return lambda: datetime(year, 1, 15, 18, tzinfo=timezone.utc)


def july():
    return lambda: datetime(2026, 7, 15, 18, tzinfo=timezone.utc)


async def test_no_heat_is_an_emergency_in_winter_only(voicekit, deployment, desk):
    winter = await talk(voicekit, deployment, ["The heat is out in unit 8."], clock=january())
    assert winter.disposition.value == "emergency_escalated"
    assert winter.extracted["escalation_reason"] == "no heat: The heat is out in unit 8."
    summer = await talk(voicekit, deployment, ["The heat is out in unit 8."], clock=july())
    assert summer.disposition.value != "emergency_escalated"
    assert (
        agent_lines(summer)[1]
        == "I can help with that. Is this about a repair, billing, or something else?"
    )


async def test_a_spanish_caller_is_answered_in_spanish(voicekit, deployment):
    report = await talk(
        voicekit,
        deployment,
        [
            "Hola, tengo una fuga en la cocina.",
            "Me llamo Rosa Díaz.",
            "Departamento 6",
            "Mejor al 512 555 0150",
            "No, no tenemos mascotas.",
            "Sí, correcto.",
        ],
    )
    lines = agent_lines(report)
    assert lines[1] == "Con gusto le ayudo. ¿Me dice su nombre?"
    assert "Le confirmo los datos: unidad, 6; su número, (512) 555-0150. ¿Es correcto?" in lines
    assert lines[-1].startswith("Gracias, Rosa. He registrado su solicitud")
    assert report.extracted["caller_name"] == "Rosa Díaz"
    assert report.extracted["pets"] is False
    assert report.disposition.value == "ticket_created"


async def test_a_spanish_emergency_gets_the_spanish_line(voicekit, deployment):
    report = await talk(voicekit, deployment, ["¡Huele a gas en mi departamento 3!"])
    assert agent_lines(report)[1].startswith("Es una emergencia: salga del edificio")
    assert report.disposition.value == "emergency_escalated"


async def test_a_known_caller_is_not_asked_their_name_but_it_is_read_back(voicekit, deployment):
    report = await talk(
        voicekit,
        deployment,
        ["My fridge stopped working", "Unit 1", "this number", "no", "yes"],
        phone="+14155550123",  # Ada Lovelace in leads.csv
    )
    lines = agent_lines(report)
    assert not any("May I have your name?" in line for line in lines)
    assert any(line.startswith("Let me read that back: your name, Ada Lovelace;") for line in lines)
    assert report.extracted["caller_name"] == "Ada Lovelace"


# -- the checks of an intake [flow] ------------------------------------------------------


def problems_of(voicekit, config):
    with pytest.raises(ConfigError) as caught:
        voicekit.load(voicekit.write(config))
    return [(p.key, p.reason) for p in caught.value.problems]


def test_a_question_for_a_field_the_record_lacks_is_a_config_error(voicekit):
    config = CONFIG.replace('key = "pets"', 'key = "pet_count"')
    found = problems_of(voicekit, config)
    assert any(
        key == "flow.questions[5].key" and reason.startswith("no such field in the record")
        for key, reason in found
    )


def test_a_parser_the_field_type_cannot_take_is_a_config_error(voicekit):
    config = CONFIG.replace(
        'key = "caller_name"\nparse = "name"', 'key = "caller_name"\nparse = "yes_no"'
    )
    found = problems_of(voicekit, config)
    assert (
        "flow.questions[2].parse",
        "field 'caller_name' is a string field: use one of address, enum, name, text, unit",
    ) in found


def test_synonyms_for_a_value_the_enum_lacks_are_a_config_error(voicekit):
    config = CONFIG.replace('billing = ["bill"', 'invoice = ["bill"')
    found = problems_of(voicekit, config)
    assert any(key == "flow.questions[0].synonyms.invoice" for key, _ in found)


def test_an_emergency_field_the_record_lacks_is_a_config_error(voicekit):
    config = CONFIG.replace(
        'transfer_target = "on_call"', 'transfer_target = "on_call"\nflag_field = "is_emergency"'
    )
    found = problems_of(voicekit, config)
    assert any(key == "flow.emergency.flag_field" for key, _ in found)


def test_an_undeclared_intake_disposition_is_a_config_error(voicekit):
    config = CONFIG.replace(
        'kind = "intake"', 'kind = "intake"\nrecorded_disposition = "tiket_created"'
    )
    found = problems_of(voicekit, config)
    assert any(key == "flow.recorded_disposition" for key, _ in found)


@pytest.mark.parametrize(
    ("change", "key", "reason"),
    [
        (
            ('kind = "intake"', 'kind = "intake"\nsay = { bye = "Bye" }'),
            "flow",
            "unknown keys in say: ['bye']",
        ),
        (
            ('kind = "intake"', 'kind = "sdr"'),
            "flow",
            "questions ['urgency'] have no 'ask' (an sdr flow asks each one)",
        ),
        (
            ("months = [12, 1, 2]", "months = [13]"),
            "flow.emergency.rules[1]",
            "months must be 1-12, got [13]",
        ),
        (
            ('timezone = "America/Chicago"', 'timezone = "Mars/Olympus"'),
            "flow.emergency",
            "unknown timezone 'Mars/Olympus' (an IANA name)",
        ),
    ],
)
def test_flow_section_errors_name_the_key(voicekit, change, key, reason):
    found = problems_of(voicekit, CONFIG.replace(*change))
    assert any(k == key and r.startswith(reason) for k, r in found), found
