from django.http import JsonResponse


def health(request):
    """Liveness probe: no database, no cache. Also the baseline for the HTTP benchmarks."""
    return JsonResponse({"status": "ok"})
