"""Road networks from OpenStreetMap and the routes measured over them (A4b, Appendix D).

`access` decides who may use a way (walking, driving: no trespass), `osm` reads an extract,
`graph` holds a network compactly and builds the routing graphs, `snap` finds where a point
meets the nearest usable way, `routing` finds the shortest routes from many homes to many
schools' gates at once. None of it touches the database; services/road_networks.py and
services/measurement.py do.
"""
