"""Why a seat has its priority, in words (the seat page, the public "seats that matter")."""

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
        share = formats.number_format(float(seat.majority_pct), 1)
        if seat.election_year:
            return _("Won by %(votes)s votes in %(year)d (%(share)s%%)") % {
                "votes": votes, "year": seat.election_year, "share": share}
        return _("Won by %(votes)s votes (%(share)s%%)") % {"votes": votes, "share": share}
    return _("No result on record")
