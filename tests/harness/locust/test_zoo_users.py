"""The zoo's Locust options: when a library is hosted, and how adapter options parse."""

from __future__ import annotations

import pytest

from harness.locust.library import library_requested, parse_options


def test_only_an_explicit_library_makes_the_zoo_users_live(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LOCUST_LIBRARY", raising=False)
    assert library_requested(["locust", "-f", "scenarios", "--host", "http://x"]) is False
    assert library_requested(["locust", "-f", "scenarios/zoo", "--library", "rq"]) is True
    assert library_requested(["locust", "--library=celery"]) is True
    monkeypatch.setenv("LOCUST_LIBRARY", "rq")
    assert library_requested(["locust"]) is True


def test_adapter_options_parse_numbers_and_refuse_malformed_pairs() -> None:
    assert parse_options(["visibility_timeout=5", "job_timeout=10", "queue_name=q"]) == {
        "visibility_timeout": 5,
        "job_timeout": 10,
        "queue_name": "q",
    }
    assert parse_options(["visibility_timeout=2.5"]) == {"visibility_timeout": 2.5}
    with pytest.raises(ValueError, match="expected KEY=VALUE"):
        parse_options(["visibility_timeout"])
