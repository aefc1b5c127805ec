"""Coordinators' CSV exports of coverage per seat and SMS failures over the API (dispatch.exports)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from core.exports import CsvExportView, csv_schema, export_response
from core.permissions import IsCoordinator
from core.serializers import QuerySerializer
from dispatch import exports
from dispatch.serializers import CoverageQuerySerializer
from dispatch.services.coverage import coverage_period
from seats.scopes import seat_scope_for


class SmsFailuresQuerySerializer(QuerySerializer):
    since = serializers.DateTimeField(required=False, help_text="Texts written at or after this.")
    until = serializers.DateTimeField(required=False, help_text="Texts written before this.")


class CoverageExportView(CsvExportView):
    permission_classes = [IsCoordinator]
    seat_scoped = True

    @extend_schema(summary="Coordinators: coverage per seat as CSV", parameters=[CoverageQuerySerializer],
                   responses=csv_schema(exports.COVERAGE, description="The rows of GET /api/dispatch/coverage/."))
    def get(self, request):
        query = CoverageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        date_from, date_to = coverage_period(date_from=data.get("date_from"), date_to=data.get("date_to"))
        rows = exports.coverage_export_rows(date_from=date_from, date_to=date_to, region=data.get("region") or None,
                                            scope=seat_scope_for(request.user))
        return export_response(exports.COVERAGE, rows, date_from=f"{date_from:%Y%m%d}", date_to=f"{date_to:%Y%m%d}")


class SmsFailuresExportView(CsvExportView):
    permission_classes = [IsCoordinator]
    seat_scoped = True

    @extend_schema(summary="Coordinators: failed and undelivered texts as CSV", parameters=[SmsFailuresQuerySerializer],
                   responses=csv_schema(exports.SMS_FAILURES, description="Numbers masked, no bodies; audited."))
    def get(self, request):
        query = SmsFailuresQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = exports.sms_failures_export_rows(actor=request.user, since=query.validated_data.get("since"),
                                                until=query.validated_data.get("until"),
                                                scope=seat_scope_for(request.user))
        return export_response(exports.SMS_FAILURES, rows)
