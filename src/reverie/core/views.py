from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from reverie.accounts.models import Role
from reverie.core.decorators import public_page


@public_page
@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "core/landing.html")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role starts somewhere different."""
    role = request.user.role  # type: ignore[union-attr]
    if role == Role.THERAPIST:
        return redirect("care:caseload")
    if role == Role.CLIENT:
        return redirect("care:client_home")
    return redirect("practice:users")


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: the process is up and the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return JsonResponse({"status": "ok"})
