"""A measured route drawn as an inline SVG from its stored geometry (issue 17).

Councils run the panel on internal networks, so no tile server: the map is the route itself,
the home's access point and the gate, on the British National Grid (north up), with a scale
bar. Plain SVG markup (no script, presentation attributes only) sits inside the panel's
Content-Security-Policy. The caller gives the text alternative beside it.
"""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 480, 320, 24


def route_svg(
    points: list[tuple[int, int]],
    *,
    home: tuple[int, int] | None,
    title: str,
    description: str,
) -> Markup:
    if len(points) < 2:
        return Markup("")
    xs = [p[0] for p in points] + ([home[0]] if home else [])
    ys = [p[1] for p in points] + ([home[1]] if home else [])
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    span = max(x1 - x0, y1 - y0, 50)
    scale = min((WIDTH - 2 * PAD) / span, (HEIGHT - 2 * PAD) / span)

    def at(p: tuple[int, int]) -> tuple[float, float]:
        return (PAD + (p[0] - x0) * scale, HEIGHT - PAD - (p[1] - y0) * scale)

    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(at, points))
    sx, sy = at(points[0])
    gx, gy = at(points[-1])
    bar_m = next((m for m in (5000, 2000, 1000, 500, 200, 100, 50) if m * scale < WIDTH / 3), 50)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="route-map" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="route-map-title route-map-desc">',
        f'<title id="route-map-title">{escape(title)}</title>',
        f'<desc id="route-map-desc">{escape(description)}</desc>',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#f8f9fa" stroke="#6c757d"/>',
        f'<polyline points="{line}" fill="none" stroke="#0b5ed7" stroke-width="3" '
        'stroke-linejoin="round"/>',
    ]
    if home is not None:
        hx, hy = at(home)
        parts.append(
            f'<line x1="{hx:.1f}" y1="{hy:.1f}" x2="{sx:.1f}" y2="{sy:.1f}" stroke="#6c757d" '
            'stroke-dasharray="4 3"/>'
            f'<rect x="{hx - 5:.1f}" y="{hy - 5:.1f}" width="10" height="10" fill="#212529"/>'
            f'<text x="{hx + 8:.1f}" y="{hy - 8:.1f}" font-size="12">Home</text>'
        )
    parts += [
        f'<circle cx="{sx:.1f}" cy="{sy:.1f}" r="5" fill="#198754"/>',
        f'<text x="{sx + 8:.1f}" y="{sy + 14:.1f}" font-size="12">Access point</text>',
        f'<circle cx="{gx:.1f}" cy="{gy:.1f}" r="6" fill="#dc3545"/>',
        f'<text x="{gx + 8:.1f}" y="{gy - 8:.1f}" font-size="12">School gate</text>',
        f'<line x1="{PAD}" y1="{HEIGHT - 8}" x2="{PAD + bar_m * scale:.1f}" y2="{HEIGHT - 8}" '
        'stroke="#212529" stroke-width="2"/>',
        f'<text x="{PAD + bar_m * scale + 6:.1f}" y="{HEIGHT - 4}" font-size="11">{bar_m} m'
        "</text>",
        f'<text x="{WIDTH - 8}" y="16" font-size="11" text-anchor="end">N ↑</text>',
        "</svg>",
    ]
    return Markup("".join(parts))
