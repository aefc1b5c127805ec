"""Coordinators' CSV exports of bookings and volunteers over the API (volunteers.exports; docs/exports.md)."""

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from core.errors import InvalidInput
from core.exports import CsvExportView, csv_schema, export_response
from core.permissions import IsCoordinator
from core.serializers import QuerySerializer
from seats.scopes import seat_scope_for
from volunteers import exports
from volunteers.models import Booking


class BookingsExportQuerySerializer(QuerySerializer):
    date_from = serializers.DateTimeField(required=False, help_text="Slots starting at or after this.")
    date_to = serializers.DateTimeField(required=False, help_text="Slots starting before this.")
    status = serializers.ListField(child=serializers.ChoiceField(choices=Booking.Status.values), required=False,
                                   help_text="Only these statuses (repeat the parameter for several).")
    seat = serializers.CharField(max_length=9, required=False, allow_blank=True,
                                 help_text="Only sessions in this constituency (ONS code).")

    def validate(self, data):
        if data.get("date_from") and data.get("date_to") and data["date_to"] <= data["date_from"]:
            raise InvalidInput(gettext("date_to must be after date_from."), code="date_order",
                               fields={"date_to": [gettext("Must be after date_from.")]})
        return data


class VolunteersExportQuerySerializer(QuerySerializer):
    consent_sms = serializers.ChoiceField(choices=["yes", "no"], required=False,
                                          help_text="yes: only those who agreed to texts; no: only those who did not.")
    seat = serializers.CharField(max_length=9, required=False, allow_blank=True,
                                 help_text="Only volunteers whose postcode is in this constituency (ONS code).")


class BookingsExportView(CsvExportView):
    permission_classes = [IsCoordinator]
    seat_scoped = True

    @extend_schema(summary="Coordinators: every booking as CSV", parameters=[BookingsExportQuerySerializer],
                   responses=csv_schema(exports.BOOKINGS, description="Numbers masked; the export is audited."))
    def get(self, request):
        query = BookingsExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        rows = exports.bookings_export_rows(actor=request.user, date_from=data.get("date_from"),
                                            date_to=data.get("date_to"), statuses=data.get("status"),
                                            seat=data.get("seat") or None, scope=seat_scope_for(request.user))
        return export_response(exports.BOOKINGS, rows)


class VolunteersExportView(CsvExportView):
    permission_classes = [IsCoordinator]
    seat_scoped = True

    @extend_schema(summary="Coordinators: every volunteer, with SMS consent, as CSV",
                   parameters=[VolunteersExportQuerySerializer],
                   responses=csv_schema(exports.VOLUNTEERS, description="Numbers masked, no emails; audited."))
    def get(self, request):
        query = VolunteersExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        consent = query.validated_data.get("consent_sms")
        rows = exports.volunteers_export_rows(actor=request.user, consent_sms=None if consent is None else consent == "yes",
                                              seat=query.validated_data.get("seat") or None,
                                              scope=seat_scope_for(request.user))
        return export_response(exports.VOLUNTEERS, rows)
