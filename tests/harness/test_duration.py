"""The one duration parser: bare seconds, units, compound parts; bad input names the flag."""

from __future__ import annotations

import pytest

from harness.duration import parse_duration
from harness.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("60s", 60.0), ("2m", 120.0), ("90", 90.0), ("500ms", 0.5), ("1h30m", 5400.0),
     ("1.5s", 1.5), (" 15s ", 15.0)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "why"),
    [("-1s", "use e.g."), ("soon", "use e.g."), ("", "use e.g."), ("5x", "use e.g."),
     ("0s", "more than 0"), ("0", "more than 0")],
)  # fmt: skip
def test_bad_durations_name_the_flag(text: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as caught:
        parse_duration(text, flag="--budget")
    assert str(caught.value).startswith(f"--budget {text!r}:")
