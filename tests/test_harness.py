from voicekit_core import hookimpl
from voicekit_core.testing import ScriptedLLM, ToolCall, replies


class Weather:
    @hookimpl
    def register_tools(self, register, call):
        from livekit.agents import function_tool

        @function_tool
        async def forecast(city: str) -> str:
            """Forecast for a city.

            Args:
                city: the city
            """
            return f"sunny in {city}"

        register(forecast)


async def test_in_memory_plugin_tool_is_called(voicekit):
    voicekit.register(Weather(), name="weather")
    deployment = voicekit.load()
    llm = ScriptedLLM(replies(ToolCall("forecast", {"city": "Lima"}), "Sunny in Lima!"))
    async with voicekit.call(deployment, llm=llm) as run:
        result = await run.user_says("Weather in Lima?")
        result.expect.next_event().is_function_call(name="forecast", arguments={"city": "Lima"})
        result.expect.next_event().is_function_call_output(output="sunny in Lima")
        result.expect.next_event().is_message(role="assistant")
    report = run.report
    assert report.tool_calls[0].output == "sunny in Lima"
    assert report.lead["name"] == "Ada Lovelace"
    assert deployment.journal.get(report.call_id).call_id == report.call_id
