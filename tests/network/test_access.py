"""Who may use a way (A4b; glossary "Shortest Available Route": without trespass)."""

from __future__ import annotations

import pytest

from services.network.access import drive_directions, walkable


@pytest.mark.parametrize(
    ("tags", "walk"),
    [
        ({"highway": "footway"}, True),
        ({"highway": "bridleway"}, True),
        ({"highway": "steps"}, True),
        ({"highway": "track"}, True),
        ({"highway": "residential"}, True),
        ({"highway": "motorway"}, False),
        ({"highway": "motorway", "foot": "yes"}, False),  # the law, whatever the tag says
        ({"highway": "motorway_link"}, False),
        ({"highway": "footway", "foot": "no"}, False),
        ({"highway": "service", "access": "private"}, False),  # no trespass
        ({"highway": "service", "access": "private", "foot": "permissive"}, True),
        ({"highway": "track", "access": "no", "foot": "designated"}, True),
        ({"highway": "cycleway"}, False),
        ({"highway": "cycleway", "foot": "yes"}, True),
        ({"highway": "construction"}, False),
        ({"highway": "primary", "foot": "use_sidepath"}, False),
    ],
)
def test_walkable(tags: dict[str, str], walk: bool) -> None:
    assert walkable(tags) is walk


@pytest.mark.parametrize(
    ("tags", "directions"),
    [
        ({"highway": "residential"}, (True, True)),
        ({"highway": "residential", "oneway": "yes"}, (True, False)),
        ({"highway": "residential", "oneway": "-1"}, (False, True)),
        ({"highway": "primary", "junction": "roundabout"}, (True, False)),
        ({"highway": "motorway"}, (True, False)),
        ({"highway": "motorway", "oneway": "no"}, (True, True)),
        ({"highway": "footway"}, (False, False)),
        ({"highway": "track"}, (False, False)),
        ({"highway": "service", "access": "private"}, (False, False)),
        ({"highway": "service", "access": "private", "motor_vehicle": "yes"}, (True, True)),
        ({"highway": "residential", "motor_vehicle": "no"}, (False, False)),
        ({"highway": "residential", "access": "destination"}, (True, True)),
        ({"highway": "residential", "oneway": "reversible"}, (False, False)),
    ],
)
def test_drive_directions(tags: dict[str, str], directions: tuple[bool, bool]) -> None:
    assert drive_directions(tags) == directions
