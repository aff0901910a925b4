"""Who may use an OpenStreetMap way: the walking and driving networks of A4b.

The glossary's "Shortest Available Route" is the shortest route a pupil may travel "without
trespass, in reasonable safety". A way is left out of the walking network when the law or its
owner keeps pedestrians off it (motorways, `foot=no`, private or closed access without a
permission for walkers); suitability (traffic, verges, crossings: Appendix D) is an officer's
determination recorded on the application (A12), not something the map can settle. The
driving network is the roads open to motor vehicles, with one-way streets respected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Ways a pedestrian may use unless their tags refuse it (UK defaults: footways, paths,
# bridleways, tracks and every road except a motorway carry a public right on foot).
WALKABLE = frozenset(
    {
        "footway",
        "path",
        "bridleway",
        "pedestrian",
        "steps",
        "track",
        "living_street",
        "residential",
        "service",
        "unclassified",
        "road",
        "tertiary",
        "tertiary_link",
        "secondary",
        "secondary_link",
        "primary",
        "primary_link",
        "trunk",
        "trunk_link",
    }
)
# Open to walkers only when tagged so (cycle tracks are often shared, but not always).
WALKABLE_IF_FOOT = frozenset({"cycleway", "busway"})
DRIVABLE = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
    }
)
# Roads that are one-way by their nature unless tagged otherwise.
IMPLIED_ONEWAY = frozenset({"motorway", "motorway_link"})
ROUNDABOUT = frozenset({"roundabout", "circular"})
ALLOWED = frozenset({"yes", "designated", "permissive", "official"})
REFUSED = frozenset({"no", "private"})
# Access values that keep the public off (destination traffic is still public).
CLOSED_ACCESS = frozenset({"no", "private", "agricultural", "forestry", "delivery", "military"})
FORWARD, BACKWARD = 1, 2


@dataclass(frozen=True, slots=True)
class WayAccess:
    """Whether walkers may use the way, and in which directions cars may."""

    walk: bool
    drive_forward: bool
    drive_backward: bool

    @property
    def used(self) -> bool:
        return self.walk or self.drive_forward or self.drive_backward


NONE = WayAccess(False, False, False)


def walkable(tags: Mapping[str, str]) -> bool:
    highway = tags.get("highway", "")
    foot = tags.get("foot", "")
    if foot in REFUSED or foot == "use_sidepath":
        return False
    if highway in WALKABLE_IF_FOOT:
        return foot in ALLOWED
    if highway not in WALKABLE:
        return False  # motorways (the law), construction, proposed, raceways, platforms ...
    if tags.get("access", "") in CLOSED_ACCESS:
        return foot in ALLOWED  # no trespass: a private road unless walkers are permitted
    return True


def drive_directions(tags: Mapping[str, str]) -> tuple[bool, bool]:
    """(forward, backward) for motor vehicles along the way's node order."""
    highway = tags.get("highway", "")
    if highway not in DRIVABLE or tags.get("area") == "yes":
        return False, False
    motor = tags.get("motor_vehicle") or tags.get("motorcar") or tags.get("vehicle") or ""
    if motor in REFUSED:
        return False, False
    if tags.get("access", "") in CLOSED_ACCESS and motor not in ALLOWED | {"destination"}:
        return False, False
    oneway = tags.get("oneway", "")
    if oneway in ("yes", "true", "1"):
        return True, False
    if oneway in ("-1", "reverse"):
        return False, True
    if oneway in ("reversible", "alternating"):
        return False, False  # open one way or the other by the hour: never relied on
    if oneway != "no" and (
        highway in IMPLIED_ONEWAY or tags.get("junction", "") in ROUNDABOUT
    ):
        return True, False
    return True, True


def way_access(tags: Mapping[str, str]) -> WayAccess:
    if "highway" not in tags:
        return NONE
    forward, backward = drive_directions(tags)
    return WayAccess(walkable(tags), forward, backward)
