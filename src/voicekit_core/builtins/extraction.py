"""Built-in ``record_details`` tool: collects the deployment's ``[extraction]`` record.

Offered only when the deployment declares a record (``[extraction]`` or a plugin's
``register_extraction`` model). Its JSON schema, validation, read-back and merging are
:mod:`voicekit_core.extraction`; this module wires them to livekit: the arguments arrive
raw (``raw_schema``), an invalid value becomes a ``ToolError`` the model can act on.
"""

# No `from __future__ import annotations`: livekit reads the handler's annotations at call
# time to inject RunContext, which is imported inside register_tools (livekit stays out of
# plugin listing).

from voicekit_core import hookimpl
from voicekit_core.extraction_state import ExtractionState
from voicekit_core.phones import PhonePolicy


@hookimpl
def register_tools(register, call):
    schema = getattr(call.deployment, "extraction", None)
    if schema is None:
        return
    from livekit.agents import RunContext, ToolError, function_tool

    if call.extraction is None:
        call.extraction = ExtractionState(schema, PhonePolicy.from_config(call.config))

    async def record_details(raw_arguments: dict, context: RunContext) -> str:
        state = context.userdata.extraction
        outcome = state.apply(raw_arguments)
        if outcome.error:
            raise ToolError(outcome.text)
        return outcome.text

    register(function_tool(record_details, raw_schema=schema.tool_schema()))
