from rest_framework.permissions import BasePermission


class IsCoordinator(BasePermission):
    """Coordinators are staff users."""

    message = "Only coordinators can do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
