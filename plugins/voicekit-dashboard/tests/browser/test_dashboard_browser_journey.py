"""The dashboard's main journey in a real browser, on one server (simulated dialer,
``--speed 5``), in order: put a number on the DNC list, upload a lead file with bad rows,
create a campaign from it, start it and watch the calls live, read a finished call, talk
to the agent in a test call, export the results, read the reports and the overview.

The tests run in file order and share what they made through the ``journey`` dict; a
test whose prerequisite failed skips and names it. Each page's screenshot is saved
(``dashboard-<page>.png``, see ``shots_dir``).
"""

from __future__ import annotations

import re

import pytest
from browser_kit import (
    BAD_PHONE_ROW,
    BAD_ZONE_ROW,
    CAMPAIGN_NAME,
    CAMPAIGN_WAIT,
    DNC_PHONE,
    DNC_ROW,
    DUPLICATE_ROW,
    GOOD_LEADS,
    LEAD_FILE,
    PASSING_DNC_PHONE,
    WAIT,
    accept_dialogs,
    download_csv,
    install_talkative_script,
    lead_csv,
    shoot,
    watch,
)
from playwright.sync_api import expect


@pytest.fixture(scope="module")
def journey(dashboard_server) -> dict:
    """What the tests made so far (lead list id, campaign id, a live call id...)."""
    install_talkative_script(dashboard_server["folder"])
    return {}


def needs(journey: dict, key: str, made_by: str) -> str:
    if key not in journey:
        pytest.skip(f"needs {key}, made by {made_by}, which did not finish")
    return journey[key]


def digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


def test_dnc_page_adds_finds_and_removes_numbers(page, journey, shots_dir):
    accept_dialogs(page)
    page.goto("/dnc")
    # the number the lead file's last row has: the upload preview must flag it
    page.get_by_test_id("dnc-add-phone").fill(DNC_PHONE)
    page.get_by_test_id("dnc-add-reason").fill("asked not to be called")
    page.get_by_test_id("dnc-add-button").click()
    expect(page.get_by_test_id("dnc-message")).to_contain_text("added to the global list")
    expect(page.get_by_test_id("dnc-add-phone")).to_have_value("")  # the form was reset

    page.get_by_test_id("dnc-add-phone").fill(PASSING_DNC_PHONE)
    page.get_by_test_id("dnc-add-button").click()
    expect(page.get_by_test_id("dnc-message")).to_contain_text(digits(PASSING_DNC_PHONE)[-4:])
    expect(page.get_by_test_id("dnc-row")).to_have_count(2)

    # search by the start of the number, as typed (national form, default region US)
    page.get_by_test_id("dnc-q").fill("303 555")
    page.get_by_test_id("dnc-search-button").click()
    expect(page.get_by_test_id("dnc-row")).to_have_count(1)
    expect(page.get_by_test_id("dnc-phone")).to_contain_text(digits(PASSING_DNC_PHONE)[-4:])
    assert "q=303" in page.url  # the search is in the address bar (hx-push-url)

    page.get_by_test_id("dnc-remove").click()  # hx-confirm: accepted
    expect(page.get_by_test_id("dnc-message")).to_contain_text("removed from the global list")
    expect(page.get_by_test_id("dnc-row")).to_have_count(0)
    expect(page.get_by_test_id("dnc-total")).to_contain_text("0 entries matching 303 555")

    page.get_by_test_id("dnc-q").fill("not a number")
    page.get_by_test_id("dnc-search-button").click()
    expect(page.get_by_test_id("dnc-error")).to_contain_text("not a phone number")

    page.goto("/dnc")
    expect(page.get_by_test_id("dnc-row")).to_have_count(1)
    expect(page.get_by_test_id("dnc-row")).to_contain_text("asked not to be called")
    shoot(page, shots_dir, "dnc")
    journey["dnc"] = True


def test_uploaded_leads_show_their_bad_rows_in_the_preview(page, journey, shots_dir):
    needs(journey, "dnc", "the DNC test")
    page.goto("/leads")
    page.get_by_test_id("lead-name").fill("Browser leads")
    page.get_by_test_id("lead-file").set_input_files(
        {"name": LEAD_FILE, "mimeType": "text/csv", "buffer": lead_csv()}
    )
    page.get_by_test_id("lead-upload-button").click()
    expect(page.get_by_test_id("leads-message")).to_contain_text("Uploaded 'Browser leads': 8 rows")
    row = page.get_by_test_id("lead-list-row").filter(has_text="Browser leads")
    expect(row).to_have_count(1)
    journey["list_id"] = row.get_attribute("data-id")

    row.get_by_test_id("lead-list-preview").click()
    page.wait_for_url(f"**/leads/{journey['list_id']}")
    expect(page.get_by_test_id("total-rows")).to_have_text("8")
    expect(page.get_by_test_id("total-invalid")).to_have_text("2")
    expect(page.get_by_test_id("total-duplicates")).to_have_text("1")
    expect(page.get_by_test_id("total-dnc")).to_have_text("1")
    expect(page.get_by_test_id("problem-count")).to_have_text("4 with problems")

    def problems(row_number: int):
        return page.locator(f'[data-testid=lead-row][data-row="{row_number}"]').get_by_test_id(
            "lead-row-problems"
        )

    for good in range(2, 2 + GOOD_LEADS):
        expect(problems(good)).to_have_text("ok")
    expect(problems(BAD_PHONE_ROW).locator("[data-kind=invalid]")).to_be_visible()
    expect(problems(BAD_PHONE_ROW)).to_contain_text("phone")
    expect(problems(BAD_ZONE_ROW).locator("[data-kind=invalid]")).to_be_visible()
    expect(problems(BAD_ZONE_ROW)).to_contain_text("Mars/Olympus_Mons")
    expect(problems(DUPLICATE_ROW).locator("[data-kind=duplicate]")).to_be_visible()
    expect(problems(DUPLICATE_ROW)).to_contain_text("row 2")
    expect(problems(DNC_ROW).locator("[data-kind=do_not_call]")).to_be_visible()
    expect(page.locator("tr.problem")).to_have_count(4)
    shoot(page, shots_dir, "leads-preview")

    # the download gives the file back as uploaded
    with page.expect_download(timeout=WAIT) as info:
        page.get_by_test_id("lead-list-download").click()
    assert info.value.suggested_filename == LEAD_FILE
    with open(info.value.path(), "rb") as handle:
        assert handle.read() == lead_csv()


def test_lead_lists_can_be_made_default_and_deleted(page, journey):
    needs(journey, "list_id", "the upload test")
    accept_dialogs(page)
    page.goto("/leads")
    page.get_by_test_id("lead-file").set_input_files(
        {"name": "spare.csv", "mimeType": "text/csv", "buffer": b"phone\n+1 415 555 0111\n"}
    )
    page.get_by_test_id("lead-upload-button").click()
    expect(page.get_by_test_id("leads-message")).to_contain_text("Uploaded 'spare': 1 rows")
    spare = page.get_by_test_id("lead-list-row").filter(has_text="spare.csv")
    mine = page.get_by_test_id("lead-list-row").filter(has_text=LEAD_FILE)

    spare.get_by_test_id("lead-list-select").click()
    expect(page.get_by_test_id("leads-message")).to_contain_text("'spare' is now the default")
    expect(spare.get_by_test_id("lead-list-selected")).to_be_visible()
    expect(mine.get_by_test_id("lead-list-selected")).to_have_count(0)

    spare.get_by_test_id("lead-list-delete").click()  # hx-confirm: accepted
    expect(page.get_by_test_id("leads-message")).to_contain_text("Deleted 'spare'")
    expect(page.get_by_test_id("lead-list-row")).to_have_count(1)
    mine.get_by_test_id("lead-list-select").click()
    expect(mine.get_by_test_id("lead-list-selected")).to_be_visible()


def test_a_campaign_is_created_from_the_list_with_a_previewed_greeting(page, journey, shots_dir):
    list_id = needs(journey, "list_id", "the upload test")
    page.goto(f"/campaigns/new?list={list_id}")
    expect(page.get_by_test_id("campaign-lead-list")).to_have_value(list_id)
    page.get_by_test_id("campaign-name").fill(CAMPAIGN_NAME)
    greeting = page.get_by_test_id("campaign-greeting")
    greeting.fill("Hi {lead.first_name}, this is Sofía from TDX. How is {lead.company} doing?")
    # preview the greeting as the second lead of the list would hear it
    page.get_by_test_id("campaign-preview-lead").select_option(
        label="Marcus Chen (Northwind Health)"
    )
    expect(page.get_by_test_id("campaign-preview-greeting")).to_have_text(
        "Hi Marcus, this is Sofía from TDX. How is Northwind Health doing?"
    )
    expect(page.get_by_test_id("campaign-preview-problems")).to_have_count(0)
    # the deployment's instructions, as this lead's call would get them
    expect(page.get_by_test_id("campaign-preview-instructions")).to_contain_text(
        "on a phone call with Marcus Chen, Director of Patient Support at Northwind Health."
    )

    # an unknown placeholder: an inline problem, and nothing can be saved
    greeting.fill("Hi {lead.nickname}, this is Sofía from TDX.")
    problems = page.get_by_test_id("campaign-preview-problems")
    expect(problems).to_contain_text("greeting")
    expect(problems).to_contain_text("nickname")
    expect(page.get_by_test_id("save-campaign")).to_be_disabled()

    greeting.fill("Hi {lead.first_name}, this is Sofía from TDX. Do you have two minutes?")
    expect(page.get_by_test_id("campaign-preview-problems")).to_have_count(0)
    expect(page.get_by_test_id("campaign-preview-greeting")).to_have_text(
        "Hi Marcus, this is Sofía from TDX. Do you have two minutes?"
    )
    # two calls at once, one attempt per lead: the campaign plays out in seconds
    page.get_by_test_id("campaign-concurrency").fill("2")
    page.get_by_test_id("campaign-max-attempts").fill("1")
    expect(page.get_by_test_id("save-campaign")).to_be_enabled()
    shoot(page, shots_dir, "campaign-new")

    page.get_by_test_id("save-campaign").click()
    created = page.get_by_test_id("campaign-created")
    expect(created).to_contain_text(f"Campaign {CAMPAIGN_NAME} created")
    # the four good leads, plus the DNC lead stored as skipped
    expect(page.get_by_test_id("import-stored")).to_have_text(str(GOOD_LEADS + 1))
    expect(page.get_by_test_id("import-bad-rows")).to_contain_text("2 invalid and 1 duplicate")
    page.get_by_test_id("open-campaign").click()
    page.wait_for_url(re.compile(r"/campaigns/[^/]+$"))
    expect(page.get_by_test_id("campaign-title")).to_have_text(CAMPAIGN_NAME)
    expect(page.get_by_test_id("campaign-state")).to_have_text("draft")
    expect(page.get_by_test_id("action-start")).to_be_visible()
    journey["campaign_id"] = page.url.rstrip("/").rsplit("/", 1)[1]


def test_starting_the_campaign_updates_the_live_page_without_a_reload(page, journey, shots_dir):
    campaign_id = needs(journey, "campaign_id", "the campaign test")
    page.goto("/live")
    expect(page.get_by_test_id("live-empty")).to_be_visible()
    live_url = page.url
    page.evaluate("window.__marker = 1")  # gone if the page navigates or reloads

    # another tab starts the campaign; this process dials it with simulated calls
    control = page.context.new_page()
    control_errors = watch(control)
    control.goto(f"/campaigns/{campaign_id}")
    control.get_by_test_id("action-start").click()
    expect(control.get_by_test_id("action-message")).to_contain_text("draft -> running")

    rows = page.get_by_test_id("live-row")
    expect(rows.first).to_be_visible(timeout=CAMPAIGN_WAIT)
    dana = rows.filter(has_text="Dana Whitfield")  # the talkative lead: a long call
    expect(dana).to_have_count(1, timeout=CAMPAIGN_WAIT)
    expect(dana).to_contain_text(CAMPAIGN_NAME)
    call_id = dana.get_attribute("data-call-id")
    journey["live_call_id"] = call_id

    # follow that call in a third tab while the board keeps updating
    follow = page.context.new_page()
    follow_errors = watch(follow)
    follow.goto(f"/live/{call_id}")
    expect(follow.get_by_test_id("following")).to_be_visible()
    lines = follow.get_by_test_id("transcript-line")
    first_count = lines.count()
    expect(lines).not_to_have_count(first_count, timeout=CAMPAIGN_WAIT)  # lines arrive
    expect(lines.nth(first_count + 1)).to_be_visible(timeout=CAMPAIGN_WAIT)  # and more
    expect(follow.locator("[data-testid=transcript-line][data-role=user]").first).to_be_visible()
    expect(page.get_by_test_id("live-state").first).to_be_visible()
    shoot(page, shots_dir, "live")
    shoot(follow, shots_dir, "live-call")

    # the call ends: the stream says how, and the board drops its row
    ended = follow.get_by_test_id("call-ended")
    expect(ended).to_be_visible(timeout=CAMPAIGN_WAIT)
    expect(ended).to_have_attribute("data-disposition", "meeting_booked")
    expect(follow.get_by_test_id("following")).to_be_hidden()
    expect(follow.get_by_test_id("call-status")).to_have_text("ended")  # the badge follows
    expect(follow.locator("[data-testid=tool-call][data-tool=schedule_meeting]")).to_be_visible()
    expect(page.locator(f'[data-testid=live-row][data-call-id="{call_id}"]')).to_have_count(
        0, timeout=CAMPAIGN_WAIT
    )
    expect(page.get_by_test_id("live-empty")).to_be_visible(timeout=CAMPAIGN_WAIT)
    # all of it arrived by server-sent events: the page never navigated or reloaded
    assert page.url == live_url
    assert page.evaluate("window.__marker") == 1

    expect(control.get_by_test_id("campaign-state")).to_have_text(
        "completed", timeout=CAMPAIGN_WAIT
    )
    expect(control.get_by_test_id("campaign-done")).to_have_text(
        f"{GOOD_LEADS + 1} / {GOOD_LEADS + 1}"
    )
    expect(control.get_by_test_id("disposition-meeting_booked")).to_have_text("2")
    shoot(control, shots_dir, "campaign")
    assert not control_errors, control_errors
    assert not follow_errors, follow_errors
    journey["completed"] = True


def test_a_finished_call_shows_its_transcript_and_tool_calls(page, journey, shots_dir):
    needs(journey, "completed", "the live test")
    campaign_id = journey["campaign_id"]
    page.goto(f"/calls?campaign={campaign_id}")
    expect(page.get_by_test_id("call-row")).to_have_count(GOOD_LEADS)
    page.get_by_test_id("filter-disposition").select_option("meeting_booked")
    rows = page.get_by_test_id("call-row")
    expect(rows).to_have_count(2)
    assert "disposition=meeting_booked" in page.url
    rows.filter(has_text="Dana Whitfield").get_by_test_id("call-link").click()
    page.wait_for_url(f"**/calls/{journey['live_call_id']}")

    expect(page.get_by_test_id("call-title")).to_contain_text("Dana Whitfield")
    expect(page.get_by_test_id("call-disposition")).to_have_text("meeting booked")
    expect(page.get_by_test_id("call-campaign")).to_contain_text(CAMPAIGN_NAME)
    transcript = page.get_by_test_id("transcript")
    expect(transcript.locator("[data-role=assistant]").first).to_contain_text(
        "Hi Dana, this is Sofía from TDX. Do you have two minutes?"
    )
    expect(transcript.locator("[data-role=user]")).to_have_count(6)
    for tool in ("qualify_prospect", "check_availability", "schedule_meeting"):
        call = transcript.locator(f"[data-testid=tool-call][data-tool={tool}]")
        expect(call).to_be_visible()
        expect(call).to_have_attribute("data-failed", "false")
    qualify = transcript.locator("[data-testid=tool-call][data-tool=qualify_prospect]")
    expect(qualify.get_by_test_id("tool-arguments")).to_contain_text('"budget_usd": 60000')
    expect(qualify.get_by_test_id("tool-output")).not_to_have_text("→ ")
    shoot(page, shots_dir, "call")


def test_a_test_call_streams_the_agents_replies_and_tool_calls(page, shots_dir):
    page.goto("/test-call")
    expect(page.get_by_test_id("test-call-expected-model")).to_contain_text("scripted")
    page.get_by_test_id("lead-name-input").fill("Alex Tester")
    page.get_by_test_id("lead-company-input").fill("Example Corp")
    page.get_by_test_id("start-test-call").click()
    panel = page.get_by_test_id("test-call-panel")
    expect(panel).to_have_count(1)
    timeline = panel.get_by_test_id("test-call-timeline")
    agent = timeline.locator("[data-testid=transcript-line][data-role=assistant]")
    expect(agent.first).to_contain_text("Hi Alex")  # the greeting, for this lead
    expect(agent.first).to_contain_text("Example Corp")

    say = panel.get_by_test_id("say-input")
    say.fill("Sure, I have a couple of minutes.")
    panel.get_by_test_id("say-button").click()
    expect(say).to_have_value("")  # accepted: the input is cleared for the next turn
    caller = timeline.locator("[data-testid=transcript-line][data-role=user]")
    expect(caller.first).to_contain_text("Sure, I have a couple of minutes.")
    expect(agent).to_have_count(2)
    expect(agent.nth(1)).to_contain_text("biggest challenge")

    say.fill("Honestly, we're not interested, thanks.")
    panel.get_by_test_id("say-button").click()
    end_call = timeline.locator("[data-testid=tool-call][data-tool=end_call]")
    expect(end_call).to_be_visible()
    expect(end_call).to_contain_text("not_interested")
    expect(caller.last).to_contain_text("we're not interested")  # shown as typed
    expect(end_call).not_to_contain_text("\\u0027")  # tool arguments: no JSON escapes
    expect(agent).to_have_count(3)
    ended = panel.get_by_test_id("test-call-ended").get_by_test_id("call-ended")
    expect(ended).to_have_attribute("data-disposition", "not_interested")
    expect(say).to_be_disabled()  # the ended call's panel is locked
    shoot(page, shots_dir, "test-call")


def test_campaign_and_report_exports_download_as_csv(page, journey):
    needs(journey, "completed", "the live test")
    campaign_id = journey["campaign_id"]
    page.goto(f"/campaigns/{campaign_id}")
    name, rows, header = download_csv(page, page.get_by_test_id("campaign-export"))
    assert name.endswith(f"-{campaign_id}.csv")
    assert header[:5] == ["campaign", "lead_id", "row", "phone", "name"]
    assert "disposition" in header and "call_id" in header
    dana = [row for row in rows if row["name"] == "Dana Whitfield"]
    assert len(dana) == 1
    assert dana[0]["disposition"] == "meeting_booked"
    assert dana[0]["phone"] == "+14155550101"
    assert dana[0]["call_id"] == journey["live_call_id"]
    blocked = [row for row in rows if row["name"] == "Blocked Prospect"]
    assert blocked and blocked[0]["lead_state"] != "completed" and not blocked[0]["call_id"]

    page.goto(f"/reports?campaign={campaign_id}")
    name, rows, header = download_csv(page, page.get_by_test_id("report-csv"))
    assert name == f"voicekit-report-{campaign_id}.csv"
    assert header[:3] == ["campaign", "campaign_id", "since"]
    mine = [row for row in rows if row["campaign_id"] == campaign_id]
    assert len(mine) == 1
    assert mine[0]["campaign"] == CAMPAIGN_NAME
    assert mine[0]["dialed"] == str(GOOD_LEADS)
    assert mine[0]["booked"] == "2"
    assert mine[0]["disposition_meeting_booked"] == "2"


#: True once both report charts exist on their current canvases and finished animating.
CHARTS_DRAWN = """() => ["funnel-chart", "disposition-chart"].every((id) => {
  const canvas = document.getElementById(id);
  const chart = canvas && Chart.getChart(canvas);
  return !!chart && canvas.width > 0 && canvas.height > 0 && !Chart.animator.running(chart);
})"""


def test_reports_draw_their_charts(page, journey, shots_dir):
    needs(journey, "completed", "the live test")
    page.goto("/reports")
    expect(page.get_by_test_id("stat-dialed")).to_have_text(str(GOOD_LEADS))
    expect(page.get_by_test_id("stat-booked")).to_have_text("2")
    expect(page.get_by_test_id("funnel-chart")).to_be_visible()
    expect(page.get_by_test_id("disposition-chart")).to_be_visible()
    page.wait_for_function(CHARTS_DRAWN)
    drawn = page.evaluate(
        "() => Chart.getChart(document.getElementById('disposition-chart')).data.labels"
    )
    assert set(drawn) >= {"meeting booked", "not interested", "voicemail"}
    funnel = page.evaluate(
        "() => Chart.getChart(document.getElementById('funnel-chart')).data.datasets[0].data"
    )
    assert funnel == [GOOD_LEADS, 3, 2, 2]  # dialed, connected, qualified, booked
    expect(
        page.locator("[data-testid=disposition-row][data-disposition=meeting_booked]")
    ).to_contain_text("2")

    # a filter swaps the figures in place, and the charts are drawn again on new canvases
    page.evaluate("document.getElementById('funnel-chart').dataset.before = 'swap'")
    page.get_by_test_id("filter-campaign").select_option(journey["campaign_id"])
    page.wait_for_url(re.compile(rf"/reports\?campaign={journey['campaign_id']}\b"))
    page.wait_for_function("() => !document.getElementById('funnel-chart').dataset.before")
    page.wait_for_function(CHARTS_DRAWN)
    expect(page.get_by_test_id("campaign-row")).to_have_count(1)
    shoot(page, shots_dir, "reports")


def test_the_overview_shows_the_campaign_and_todays_dispositions(page, journey, shots_dir):
    needs(journey, "completed", "the live test")
    campaign_id = journey["campaign_id"]
    page.goto("/")
    row = page.locator(f'[data-testid=overview-campaign][data-campaign-id="{campaign_id}"]')
    expect(row).to_contain_text(CAMPAIGN_NAME)
    expect(row.get_by_test_id("campaign-state")).to_have_text("completed")
    expect(row.get_by_test_id("campaign-done")).to_have_text(f"{GOOD_LEADS + 1} / {GOOD_LEADS + 1}")
    booked = page.locator("[data-testid=today-disposition][data-disposition=meeting_booked]")
    expect(booked).to_contain_text("2")
    for disposition in ("not_interested", "voicemail"):
        expect(
            page.locator(f"[data-testid=today-disposition][data-disposition={disposition}]")
        ).to_be_visible()
    expect(page.get_by_test_id("today-booked")).to_have_text("2")
    expect(page.get_by_test_id("calls-in-progress")).to_have_text("0")
    shoot(page, shots_dir, "overview")
