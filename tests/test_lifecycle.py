"""Token-lifecycle arithmetic and the refresh-token race, on hand-made timelines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tokensim.sim.lifecycle import current_expiry, current_expiry_array, rotation_race


def test_current_token_expiry_follows_the_phase():
    # phase 0.25 with a 1 h TTL: renewals at -0.25, 0.75, 1.75, ...
    assert current_expiry(0.0, 1.0, 0.25) == pytest.approx(0.75)
    assert current_expiry(0.75, 1.0, 0.25) == pytest.approx(1.75)
    assert current_expiry(10.1, 1.0, 0.25) == pytest.approx(10.75)
    phases = np.array([0.0, 0.25, 0.5])
    assert current_expiry_array(0.1, 1.0, phases) == pytest.approx([1.0, 0.75, 0.5])


def test_remaining_life_is_uniform_over_phases():
    rng = np.random.default_rng(0)
    remaining = current_expiry_array(1234.5, 2.0, rng.random(200_000)) - 1234.5
    assert remaining.min() > 0 and remaining.max() <= 2.0
    assert remaining.mean() == pytest.approx(1.0, rel=0.01)


race = dict(period=1.0, end=100.0)


def test_thief_first_then_client_reuse_is_detected_at_the_clients_refresh():
    r = rotation_race(legit_first=0.8, thief_first=0.3, thief_last=math.inf, grace=0.0, reuse_detection=True, **race)
    assert r.reuse_at == pytest.approx(0.8) and r.thief_until == pytest.approx(0.8)


def test_client_first_then_thief_reuse_is_detected_at_the_thiefs_refresh():
    r = rotation_race(legit_first=0.2, thief_first=0.5, thief_last=math.inf, grace=0.0, reuse_detection=True, **race)
    assert r.reuse_at == pytest.approx(0.5) and r.thief_until == pytest.approx(0.5)


def test_without_reuse_detection_the_winner_keeps_the_family():
    thief_wins = rotation_race(
        legit_first=0.8, thief_first=0.3, thief_last=math.inf, grace=0.0, reuse_detection=False, **race
    )
    assert thief_wins.reuse_at is None and thief_wins.thief_until == 100.0
    client_wins = rotation_race(
        legit_first=0.2, thief_first=0.5, thief_last=math.inf, grace=0.0, reuse_detection=False, **race
    )
    assert client_wins.reuse_at is None and client_wins.thief_until == pytest.approx(0.5)


def test_grace_window_tolerates_near_simultaneous_refreshes_both_ways():
    # gaps alternate 0.01 and 0.99 h: a 1-minute grace tolerates only the first
    r = rotation_race(
        legit_first=0.31, thief_first=0.3, thief_last=math.inf, grace=1 / 60, reuse_detection=True, **race
    )
    assert r.reuse_at == pytest.approx(1.3)
    # a grace longer than both gaps: the fork is never detected, the thief keeps going
    r = rotation_race(legit_first=0.31, thief_first=0.3, thief_last=math.inf, grace=0.995, reuse_detection=True, **race)
    assert r.reuse_at is None and r.thief_until == 100.0


def test_a_thief_that_can_no_longer_refresh_is_detected_when_the_client_presents_its_stale_token():
    # the thief refreshed at 0.3 with an oracle that ends at 0.4; the client's refresh at 0.8 is the reuse
    r = rotation_race(legit_first=0.8, thief_first=0.3, thief_last=0.4, grace=0.0, reuse_detection=True, **race)
    assert r.reuse_at == pytest.approx(0.8)


def test_race_after_the_grant_ends_does_not_happen():
    r = rotation_race(
        legit_first=5.0, thief_first=6.0, thief_last=math.inf, grace=0.0, reuse_detection=True, period=1.0, end=4.0
    )
    assert r.reuse_at is None and r.thief_until == 4.0


def test_a_thief_that_starts_many_refreshes_late_is_still_the_reuse():
    # the client refreshes 8+ times before the thief's first refresh: that refresh is the reuse
    for thief_first in (7.0, 9.0, 40.0):
        r = rotation_race(
            legit_first=0.5,
            thief_first=thief_first,
            thief_last=math.inf,
            grace=0.0,
            reuse_detection=True,
            period=1.0,
            end=1000.0,
        )
        assert r.reuse_at == pytest.approx(thief_first) and r.thief_until == pytest.approx(thief_first)


def test_a_thief_first_by_far_is_detected_at_the_clients_next_refresh():
    r = rotation_race(
        legit_first=30.0, thief_first=0.2, thief_last=math.inf, grace=0.0, reuse_detection=True, period=50.0, end=1000.0
    )
    assert r.reuse_at == pytest.approx(30.0)
