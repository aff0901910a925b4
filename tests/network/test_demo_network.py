"""The demo county ships a road network consistent with its coordinates (issue 17)."""

from __future__ import annotations

from flask import Flask

from demo.county import EAST_MAX, EAST_MIN, NORTH_MAX, NORTH_MIN
from demo.network import load_demo_network
from models import db
from services.network.graph import NetworkData


def test_demo_network_covers_the_county_box_and_is_repeatable(app_ctx: Flask) -> None:
    first = load_demo_network(db.session)
    db.session.commit()
    data = NetworkData.from_bytes(first.data)
    assert (round(data.x.min()), round(data.x.max())) == (EAST_MIN, EAST_MAX)
    assert (round(data.y.min()), round(data.y.max())) == (NORTH_MIN, NORTH_MAX)
    # Roads every 1 km and footpaths between them: walking has about twice the segments.
    assert first.walk_edges > 1.9 * first.drive_edges > 0
    assert first.osm_timestamp is not None and first.source_file == "demo-county.osm"
    # The same file again: deterministic, so the network in use is kept, nothing is added.
    again = load_demo_network(db.session)
    assert again.id == first.id
