"""Concessionary seats in the database (A9, Appendix F), one module per workflow.

- `capacity`: spare seats per route and session, the route lock, routes over capacity;
- `guards`: the screens' checks that no change overfills a vehicle;
- `register_facts`: the Appendix F register's facts per application;
- `allocation`: allocate and offer-next in register order;
- `withdrawal`: seats withdrawn for entitled children, with notice and refund;
- `year_end`: the year's seats lapse.

The names callers use are re-exported here, so `from services import seats` reads as before.
"""

from services.seats.allocation import (
    RouteReport,
    SeatReport,
    allocate,
    offer_next,
    offers_planned,
)
from services.seats.capacity import (
    Overfull,
    lock_routes,
    over_capacity,
    over_capacity_ids,
    spare_seats,
    spare_seats_stmt,
    usage_stmt,
    years_of_routes,
)
from services.seats.common import CA, CS, REFUSAL_TEXT, SESSION_KEYS, SeatError
from services.seats.guards import check_entitled_pupil_fits, check_seats_fit
from services.seats.register_facts import Candidate, exam_course_year, gather_candidates
from services.seats.withdrawal import AlreadyDone, seats_state, withdraw
from services.seats.year_end import lapse

__all__ = [
    "CA",
    "AlreadyDone",
    "CS",
    "REFUSAL_TEXT",
    "SESSION_KEYS",
    "Candidate",
    "Overfull",
    "RouteReport",
    "SeatError",
    "SeatReport",
    "allocate",
    "check_entitled_pupil_fits",
    "check_seats_fit",
    "exam_course_year",
    "gather_candidates",
    "lapse",
    "lock_routes",
    "offer_next",
    "offers_planned",
    "over_capacity",
    "over_capacity_ids",
    "seats_state",
    "spare_seats",
    "spare_seats_stmt",
    "usage_stmt",
    "withdraw",
    "years_of_routes",
]
