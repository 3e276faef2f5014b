"""mailhunt.toml: [analytics.<id>] values checked against what each analytic declares, one line
naming the file and place for anything wrong; the precedence default < file < --param."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailhunt.detect.base import Analytic, Parameter
from mailhunt.detect.parameters import (
    AnalyticsListing,
    DetectConfig,
    find_config,
    load_config,
)
from mailhunt.detect.runner import parameters_for
from mailhunt.errors import InputError

DAYS = Parameter("days", int, 14, "Days.", minimum=1)
RATIO = Parameter("ratio", float, 0.5, "A ratio.", minimum=0)
LABEL = Parameter("label", str, "x", "A label.")


def analytic(analytic_id: str, *parameters: Parameter) -> Analytic:
    return Analytic(
        id=analytic_id,
        title="t",
        severity="low",
        technique="T1114",
        doc="d",
        sql="SELECT 1",
        tables=("events",),
        parameters=parameters,
    )


FIRST = analytic("first-rule", DAYS, RATIO)
SECOND = analytic("second-rule", DAYS, LABEL)
ANALYTICS = [FIRST, SECOND]


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mailhunt.toml"
    path.write_text(text, "utf-8")
    return path


def test_values_per_analytic_typed(tmp_path: Path) -> None:
    path = config(
        tmp_path,
        '[analytics.first-rule]\ndays = 21\nratio = 2\n\n[analytics.second-rule]\nlabel = "y"\n',
    )
    loaded = load_config(path, ANALYTICS)
    assert loaded.analytics == {
        "first-rule": {"days": 21, "ratio": 2.0},
        "second-rule": {"label": "y"},
    }
    assert type(loaded.analytics["first-rule"]["ratio"]) is float
    assert loaded.path == path


def test_no_file_is_an_empty_config() -> None:
    assert load_config(None, ANALYTICS) == DetectConfig()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[analytics.nope]\ndays = 1\n", "[analytics.nope]: unknown analytic (known: first-rule"),
        (
            "[analytics.first-rule]\nlabel = 'y'\n",
            "[analytics.first-rule] label: unknown parameter (known: days, ratio)",
        ),
        (
            "[analytics.first-rule]\ndays = 0\n",
            "[analytics.first-rule] days must be a whole number >= 1, not 0",
        ),
        ("[analytics.first-rule]\ndays = '21'\n", "days must be a whole number >= 1, not '21'"),
        ("[analytics.first-rule]\ndays = true\n", "days must be a whole number >= 1, not True"),
        ("[analytics.first-rule]\nratio = -1.5\n", "ratio must be a number >= 0, not -1.5"),
        ("[analytics]\ndays = 1\n", "[analytics] days: parameters go in a section per analytic"),
        ("analytics = 3\n", "analytics must be a table"),
        ("[rules]\nx = 1\n", "unknown section [rules] (known: analytics, collect, detect)"),
        ("[detect]\nspeed = 1\n", "[detect] speed: unknown setting (known: geoip)"),
        ("[detect]\ngeoip = 3\n", "[detect] geoip must be a path or a list of paths"),
        ("[detect]\ngeoip = ['missing.mmdb']\n", "[detect] geoip: no file"),
        ("[analytics.first-rule\n", "not valid TOML"),
        ("days = = 1\n", "not valid TOML"),
    ],
)
def test_anything_wrong_is_one_line_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = config(tmp_path, text)
    with pytest.raises(InputError) as raised:
        load_config(path, ANALYTICS)
    line = str(raised.value)
    assert "\n" not in line
    assert line.startswith(f"{path}: ")
    assert message in line


def test_geoip_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "asn.mmdb").write_bytes(b"")
    path = config(tmp_path, '[detect]\ngeoip = "asn.mmdb"\n')
    assert load_config(path, ANALYTICS).geoip == (tmp_path / "asn.mmdb",)


def test_the_file_is_found_in_the_folder_or_given(tmp_path: Path) -> None:
    assert find_config(None, tmp_path) is None
    path = config(tmp_path, "")
    assert find_config(None, tmp_path) == path
    other = tmp_path / "other.toml"
    other.write_text("")
    assert find_config(other, tmp_path) == other
    with pytest.raises(InputError, match="no configuration file"):
        find_config(tmp_path / "missing.toml", tmp_path)


def test_precedence_default_then_file_then_command_line() -> None:
    configured = {"first-rule": {"days": 21}}
    assert parameters_for(FIRST, {}) == {"days": 14, "ratio": 0.5}
    assert parameters_for(FIRST, {}, configured) == {"days": 21, "ratio": 0.5}
    assert parameters_for(SECOND, {}, configured) == {"days": 14, "label": "x"}
    # --param sets the name for every analytic declaring it, over the file
    assert parameters_for(FIRST, {"days": 3}, configured) == {"days": 3, "ratio": 0.5}
    assert parameters_for(SECOND, {"days": 3}, configured) == {"days": 3, "label": "x"}


def test_listing_says_the_value_in_effect_and_where_it_comes_from(tmp_path: Path) -> None:
    path = config(tmp_path, "[analytics.first-rule]\ndays = 21\n")
    listing = AnalyticsListing(ANALYTICS, load_config(path, ANALYTICS))
    assert (listing.in_effect(FIRST, DAYS), listing.set_by(FIRST, DAYS)) == (21, "mailhunt.toml")
    assert (listing.in_effect(SECOND, DAYS), listing.set_by(SECOND, DAYS)) == (14, "default")
