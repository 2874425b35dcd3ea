"""Scale-out: two dialer processes, two campaigns sharing one trunk, 1,000 leads with
zero-duration calls, on SQLite and on a real Postgres. The trunk's concurrency cap holds
across the processes (sampled from the store), and no lead is dialed twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from dialer_kit import (
    FakeWorker,
    InFlightSampler,
    create_campaign,
    start_dialer,
    write_deployment,
    write_leads,
)

from voicekit_core.campaigns import repo
from voicekit_core.deployment import load_deployment

PER_CAMPAIGN = 500
TRUNK_CAP = 6


def test_two_dialers_share_the_trunk_cap_and_dial_each_lead_once(
    tmp_path: Path, store_url, fake_livekit
):
    fake = fake_livekit
    folder = write_deployment(
        tmp_path / "deployment",
        store_url,
        livekit=fake,
        campaign_concurrency=5,
        trunk_concurrency=TRUNK_CAP,
        max_attempts=1,
    )
    first = write_leads(tmp_path / "a.csv", PER_CAMPAIGN)
    second = write_leads(tmp_path / "b.csv", PER_CAMPAIGN, area="212")
    for phone in first + second:
        fake.dial_delays[phone] = 0.005  # answered at once; the call itself takes no time
    FakeWorker(fake, store_url)
    deployment = load_deployment(folder)
    campaigns = [
        create_campaign(deployment, "east", tmp_path / "a.csv"),
        create_campaign(deployment, "west", tmp_path / "b.csv"),
    ]

    with InFlightSampler(store_url, interval=0.01) as sampler:
        dialers = [start_dialer(folder, campaign, lease_seconds=5.0) for campaign in campaigns]
        try:
            for dialer in dialers:
                dialer.join(180)
        finally:
            for dialer in dialers:
                if dialer.is_alive():
                    dialer.kill()
    assert [d.exitcode for d in dialers] == [0, 0]

    for campaign in campaigns:
        assert repo.find_campaign(deployment.store, campaign).state == "completed"
        assert repo.lead_counts(deployment.store, campaign)["done:qualified"] == PER_CAMPAIGN
    per_phone = Counter(r.request.sip_call_to for r in fake.calls("CreateSIPParticipant"))
    assert len(per_phone) == 2 * PER_CAMPAIGN and set(per_phone.values()) == {1}
    assert len(sampler.samples) > 100
    assert sampler.peak <= TRUNK_CAP  # never more calls in flight than the trunk allows
    assert sampler.peak >= TRUNK_CAP - 1  # ...and the two dialers did compete for it
