"""The body chart the practitioner clicks to say where they are working (web/bodychart.svg).

The same file is fetched by the dashboard (web/bodychart.js) and inlined into the
printable report, so it has to stand on its own: well-formed, offline, and every
region on it named the way the site list names muscles.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pytest

from twitchd.marks import SITE_CATALOG

CHART = Path(__file__).resolve().parents[2] / "web" / "bodychart.svg"
SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
SHAPES = {"path", "ellipse", "polygon", "circle", "rect"}


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@pytest.fixture(scope="module")
def root() -> ET.Element:
    return ET.parse(CHART).getroot()


@pytest.fixture(scope="module")
def regions(root: ET.Element) -> list[ET.Element]:
    return [el for el in root.iter() if "region" in el.get("class", "").split()]


def test_the_chart_is_a_well_formed_svg_small_enough_to_inline() -> None:
    root = ET.fromstring(CHART.read_bytes())  # raises on anything malformed
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == "0 0 600 620"
    assert CHART.stat().st_size < 60_000


def test_the_chart_works_offline_it_loads_nothing_and_runs_nothing(root: ET.Element) -> None:
    tags = {local(el.tag) for el in root.iter()}
    assert not tags & {"script", "image", "foreignObject", "use", "iframe"}
    for el in root.iter():
        for attr, value in el.attrib.items():
            assert not attr.startswith("on"), f"an event handler: {attr}"
            if attr in ("href", XLINK_HREF):
                assert value.startswith("#"), f"an external reference: {value}"
    style = "".join(s.text or "" for s in root.iter(f"{SVG}style"))
    for url in re.findall(r"url\(([^)]*)\)", style):
        assert url.strip("'\" ").startswith("#"), f"the style loads {url}"
    assert "@import" not in style and "@font-face" not in style


def test_every_muscle_on_the_chart_is_one_the_site_list_knows_on_both_sides(regions: list[ET.Element]) -> None:
    sides: dict[str, set[str]] = defaultdict(set)
    for el in regions:
        muscle, side, view = el.get("data-muscle"), el.get("data-side"), el.get("data-view")
        assert local(el.tag) in SHAPES
        assert muscle in SITE_CATALOG, f"{muscle!r} is not in the site catalog"
        assert side in ("left", "right") and view in ("front", "back")
        # each region says, as its tooltip and its accessible name, which muscle and side it is
        title = el.find(f"{SVG}title")
        assert title is not None and title.text == f"{muscle} ({side})"
        sides[muscle].add(side)
    assert {m for m, s in sides.items() if s != {"left", "right"}} == set()
    assert len(sides) >= 35


def test_each_muscle_and_side_is_one_place_on_one_view(regions: list[ET.Element]) -> None:
    seen = [(el.get("data-muscle"), el.get("data-side")) for el in regions]
    assert len(seen) == len(set(seen))
    views: dict[str | None, set[str | None]] = defaultdict(set)
    for el in regions:
        views[el.get("data-muscle")].add(el.get("data-view"))
    assert all(len(v) == 1 for v in views.values())


def test_the_muscles_sit_on_the_view_they_are_palpated_from(regions: list[ET.Element]) -> None:
    view = {el.get("data-muscle"): el.get("data-view") for el in regions}
    for m in ("pectoralis major", "sternocleidomastoid", "tibialis anterior", "rectus femoris", "masseter"):
        assert view[m] == "front"
    for m in ("rhomboids", "infraspinatus", "gluteus maximus", "hamstrings", "suboccipitals"):
        assert view[m] == "back"


def test_the_patients_right_is_on_the_viewers_left_in_front_and_on_the_right_behind(root: ET.Element) -> None:
    # every region of the patient's right side lies on the matching half of its view
    half = {"front": 150.0, "back": 450.0}
    for el in root.iter():
        if "region" not in el.get("class", "").split():
            continue
        if local(el.tag) == "ellipse":
            x = float(el.get("cx", "nan"))
        else:
            d = el.get("d") or el.get("points") or ""
            x = float(re.findall(r"-?\d+(?:\.\d+)?", d)[0])
        viewer_left = x < half[el.get("data-view", "")]
        patient_right = el.get("data-side") == "right"
        assert viewer_left == (patient_right == (el.get("data-view") == "front")), el.findtext(f"{SVG}title")
    texts = [(float(t.get("x", 0)), (t.text or "").strip()) for t in root.iter(f"{SVG}text")]
    assert {"Front", "Back"} <= {text for _, text in texts}
    under_front = [text for x, text in sorted(texts) if text in ("R", "L") and x < 300]
    under_back = [text for x, text in sorted(texts) if text in ("R", "L") and x > 300]
    assert (under_front, under_back) == (["R", "L"], ["L", "R"])

def test_the_states_the_dashboard_sets_are_styled_and_tell_apart_in_black_and_white(root: ET.Element) -> None:
    style = "".join(s.text or "" for s in root.iter(f"{SVG}style"))
    rules = dict(re.findall(r"([^{}]+)\{([^}]*)\}", style))

    def rule(cls: str) -> str:
        found = [body for sel, body in rules.items() if re.search(rf"\.{cls}(?![\w-])", sel)]
        assert found, f".{cls} is not styled"
        return ";".join(found)

    assert "cursor:pointer" in rule("region")
    assert "stroke-width" in rule("current")
    assert "fill" in rule("treated")
    # quieted: a hatch and a dashed border, so a grey print still tells it from treated
    quieted = rule("quieted")
    assert "url(#" in quieted and "stroke-dasharray" in quieted
    hatch = re.search(r"url\(#([\w-]+)\)", quieted)
    assert hatch and root.find(f".//{SVG}pattern[@id='{hatch.group(1)}']") is not None
    assert "fill" in rule("outline") and "stroke" in rule("outline")
    assert "pointer-events:none" in rule("badge")
