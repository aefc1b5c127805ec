from django.apps import AppConfig
from django.db.models.signals import post_migrate


def boundary_sets_ensure(sender=None, using="default", **kwargs) -> None:
    """The known boundary sets exist and one is current (the newest, when none is).

    Migration 0002 decides the current set of an existing installation; this puts the rows back wherever a
    database was emptied since (`flush`, which the test suite's transactional tests use, emits post_migrate)."""
    from django.apps import apps as installed

    from seats.models import DEFAULT_BOUNDARY_SET

    try:  # the models as migrated so far (a partial `migrate seats 0001` has no BoundarySet yet); flush sends none
        BoundarySet = (kwargs.get("apps") or installed).get_model("seats", "BoundarySet")
    except LookupError:
        return
    for code, name in BOUNDARY_SETS:
        BoundarySet.objects.using(using).get_or_create(code=code, defaults={"name": name})
    if not BoundarySet.objects.using(using).filter(is_current=True).exists():
        BoundarySet.objects.using(using).filter(code=DEFAULT_BOUNDARY_SET).update(is_current=True)


BOUNDARY_SETS = [("2010", "2010–2024 boundaries"), ("2024", "2024 boundaries (2023 review)")]


class SeatsConfig(AppConfig):
    name = "seats"
    verbose_name = "Seats and geography"

    def ready(self) -> None:
        post_migrate.connect(boundary_sets_ensure, sender=self, dispatch_uid="seats_boundary_sets_ensure")
