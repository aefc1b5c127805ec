"""Why a seat has its priority, in words (the seat page, the public "seats that matter")."""

from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats
from django.utils.translation import gettext as _

from seats.models import Seat
from seats.services import PriorityBasis, seat_priority_basis


def priority_why(seat: Seat) -> str:
    """"Campaign target list", "Coordinator's choice", or "Won by 2,353 votes in 2024 (4.2%)"."""
    basis = seat_priority_basis(seat)
    if basis == PriorityBasis.COORDINATOR:
        return _("Coordinator's choice")
    if basis == PriorityBasis.TARGET_LIST:
        return _("Campaign target list")
    if basis == PriorityBasis.RESULT:
        votes = formats.number_format(int(seat.majority), 0, force_grouping=True)
        # number_format cuts a float's digits (4.68 -> "4.6"); rounded as the seat page's floatformat does
        share = formats.number_format(Decimal(repr(float(seat.majority_pct))).quantize(Decimal("0.1"), ROUND_HALF_UP), 1)
        if seat.election_year:
            return _("Won by %(votes)s votes in %(year)d (%(share)s%%)") % {
                "votes": votes, "year": seat.election_year, "share": share}
        return _("Won by %(votes)s votes (%(share)s%%)") % {"votes": votes, "share": share}
    return _("No result on record")
