import pytest

from core.errors import InvalidInput, NotFound
from seats.services import seat_effective_priority, seat_priority_compute, seat_priority_set
from tests.factories import SeatFactory


@pytest.mark.parametrize(("majority_pct", "band"), [
    (0.0, 1), (3.73, 1), (4.999, 1), (5.0, 2), (9.99, 2), (10.0, 3), (14.99, 3), (15.0, 4), (24.99, 4), (25.0, 5),
    (60.0, 5), (None, 5),
])
def test_priority_bands_follow_the_majority_share(majority_pct, band):
    assert seat_priority_compute(majority_pct=majority_pct) == band


@pytest.mark.parametrize(("computed", "effective"), [(5, 4), (3, 2), (2, 1), (1, 1)])
def test_a_target_seat_ranks_one_band_higher(computed, effective):
    assert seat_effective_priority(computed=computed, override=None, is_target=True) == effective
    assert seat_effective_priority(computed=computed, override=None, is_target=False) == computed


@pytest.mark.parametrize("is_target", [False, True])
def test_a_coordinator_override_wins(is_target):
    assert seat_effective_priority(computed=1, override=4, is_target=is_target) == 4
    assert seat_effective_priority(computed=5, override=1, is_target=is_target) == 1


@pytest.mark.django_db
def test_setting_and_clearing_an_override_recomputes_the_priority():
    seat = SeatFactory(computed_priority=3, priority=3)

    assert seat_priority_set(ons_code=seat.pk, priority_override=5).priority == 5
    assert seat_priority_set(ons_code=seat.pk, priority_override=None, is_target=True).priority == 2
    seat.refresh_from_db()
    assert (seat.priority_override, seat.is_target, seat.priority) == (None, True, 2)


@pytest.mark.django_db
def test_bad_overrides_and_unknown_seats_are_refused():
    seat = SeatFactory()
    with pytest.raises(InvalidInput) as caught:
        seat_priority_set(ons_code=seat.pk, priority_override=6)
    assert "priority_override" in caught.value.fields
    with pytest.raises(NotFound):
        seat_priority_set(ons_code="E14999999", priority_override=1)
