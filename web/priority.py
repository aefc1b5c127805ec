"""Why a seat has its priority, in words (the seat page, the public "seats that matter")."""

from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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


def priority_label(priority: int) -> str:
    """"Top priority" (1), "High priority" (2), "Priority 3"."""
    if priority == 1:
        return _("Top priority")
    if priority == 2:
        return _("High priority")
    return _("Priority %(priority)d") % {"priority": priority}


def priority_in_short(seat: Seat) -> str:
    """A card's line: "Top priority: won by 15 votes", "High priority: campaign target list", or the label alone
    for a seat with no result on record."""
    basis = seat_priority_basis(seat)
    label = priority_label(seat.priority)
    if basis == PriorityBasis.RESULT:
        votes = formats.number_format(int(seat.majority), 0, force_grouping=True)
        return ngettext("%(priority)s: won by %(votes)s vote", "%(priority)s: won by %(votes)s votes",
                        int(seat.majority)) % {"priority": label, "votes": votes}
    if basis == PriorityBasis.TARGET_LIST:
        return _("%(priority)s: campaign target list") % {"priority": label}
    if basis == PriorityBasis.COORDINATOR:
        return _("%(priority)s: coordinators' choice") % {"priority": label}
    return label
