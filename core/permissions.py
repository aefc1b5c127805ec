from django.core.exceptions import ObjectDoesNotExist
from rest_framework.permissions import BasePermission


def is_scoped_organiser(user) -> bool:
    """A coordinator limited to some seats (seats.models.OrganiserScope, read through the reverse relation so that
    core needs no import of seats). Such a user may use only the tools that apply seats.scopes themselves."""
    try:
        return bool(user and user.is_authenticated and user.organiser_scope is not None)
    except ObjectDoesNotExist:
        return False


class IsCoordinator(BasePermission):
    """Coordinators are staff users. A regional organiser (a scoped one) is refused unless the view says
    `seat_scoped = True`: it promises to pass seats.scopes.seat_scope_for(request.user) to its services. So a new
    coordinator endpoint is national-only until someone scopes it."""

    message = "Only coordinators can do this."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated and request.user.is_staff):
            return False
        if not getattr(view, "seat_scoped", False) and is_scoped_organiser(request.user):
            self.message = "Only national coordinators can do this."
            return False
        return True
