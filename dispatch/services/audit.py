"""Coordinators' access to personal data, in the coordinator audit log (CoordinatorAction)."""

from dispatch.models import CoordinatorAction
from dispatch.services.common import action_record


def personal_data_access_log(*, actor, action: str, volunteer_ids: list[int], detail: dict) -> CoordinatorAction:
    """Append who read, exported or erased whose personal data (volunteer ids, never the data itself)."""
    return action_record(actor=actor, kind=CoordinatorAction.Kind.PERSONAL_DATA,
                         params={"action": action, **detail}, result={"volunteers": list(volunteer_ids)})
