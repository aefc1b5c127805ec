"""Personal data watched over: front rooms held back, and the audit log of coordinators' actions."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import NotFound
from dispatch.services.audit import personal_data_access_log
from seats.scopes import seat_scope_for
from volunteers.privacy import Access
from web.coordinators import selectors
from web.coordinators.views.common import page_number, pager_urls, staff_required

AUDIT_PAGE_SIZE = 50


# ---- front rooms held back (volunteers.disclosure) ----------------------------------------------------------

HOLDS_PAGE_SIZE = 50


@staff_required
@require_GET
def held_addresses(request):
    """Phones that reached their allowance of front rooms (metered disclosure), newest first, numbers masked, each
    with "let through" for that room. Reading the list is recorded in the audit log."""
    from volunteers.disclosure import front_room_holds_open
    from volunteers.privacy import mask_phone

    page = Paginator(front_room_holds_open(), HOLDS_PAGE_SIZE).get_page(page_number(request))
    for hold in page.object_list:
        hold.masked_phone = mask_phone(hold.volunteer.phone)
    if page.object_list:
        personal_data_access_log(actor=request.user, action=Access.VIEWED,
                                 volunteer_ids=sorted({hold.volunteer_id for hold in page.object_list}),
                                 detail={"where": "coordinator held addresses", "fields": ["phone (masked)"]})
    return render(request, "web/coordinators/held_addresses.html", {"page": page, **pager_urls(page)})


@staff_required
@require_POST
def held_address_release(request, hold_id: int):
    """Let the phone see this front room's address: the hold closes and every path shows it from now on."""
    from volunteers.disclosure import front_room_release

    try:
        hold = front_room_release(hold_id=hold_id, user=request.user)
    except NotFound as exc:
        raise Http404 from exc
    personal_data_access_log(actor=request.user, action="address_released", volunteer_ids=[hold.volunteer_id],
                             detail={"where": "coordinator held addresses", "meeting_point": hold.meeting_point_id})
    messages.success(request, _("Done: this phone can now see the address."))
    return redirect("coordinators:held-addresses")


# ---- audit log ---------------------------------------------------------------------------------------------


@staff_required(scoped=True)
@require_GET
def audit(request):
    page = Paginator(selectors.audit_log(user=request.user, scope=seat_scope_for(request.user)), AUDIT_PAGE_SIZE).get_page(page_number(request))
    names = selectors.seat_names({(action.params or {}).get("seat") for action in page.object_list} - {None})
    for action in page.object_list:  # a seat's name, never its bare code
        action.seat_name = names.get((action.params or {}).get("seat"))
    return render(request, "web/coordinators/audit.html", {
        "page": page, **pager_urls(page),
    })


@staff_required(scoped=True)
@require_GET
def audit_action(request, action_id: int):
    action = selectors.audit_log(user=request.user, scope=seat_scope_for(request.user)).filter(pk=action_id).first()
    if action is None:
        raise Http404
    moves = (action.result or {}).get("moves", [])
    slots = selectors.slots_by_id({m["from_slot"] for m in moves} | {m["to_slot"] for m in moves}) if moves else {}
    return render(request, "web/coordinators/audit_action.html", {"action": action, "moves": moves, "slots": slots})
