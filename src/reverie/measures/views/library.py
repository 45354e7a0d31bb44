"""The instrument library: the instruments a practice can use, one instrument's
definition, and importing a FHIR Questionnaire."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.core.decorators import role_required, signed_in_user
from reverie.measures import actions
from reverie.measures.forms import ImportForm
from reverie.measures.registry import definition_for, visible_instruments

THERAPIST = (Role.THERAPIST,)


@role_required(Role.THERAPIST, Role.ADMIN)
def instruments(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    rows = [
        (instrument, definition_for(instrument))
        for instrument in visible_instruments(user.practice_id).select_related("practice")
    ]
    return render(request, "measures/instruments.html", {"rows": rows})


@role_required(Role.THERAPIST, Role.ADMIN)
def instrument(request: HttpRequest, code: str) -> HttpResponse:
    user = signed_in_user(request)
    row = visible_instruments(user.practice_id).filter(code=code).first()
    if row is None:
        raise Http404("No such instrument")
    return render(
        request,
        "measures/instrument.html",
        {"instrument": row, "definition": definition_for(row)},
    )


@role_required(Role.ADMIN)
def import_instrument(request: HttpRequest) -> HttpResponse:
    """Add a FHIR Questionnaire (SDC style, with answer weights) as a practice instrument."""
    user = signed_in_user(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                row = actions.import_instrument(
                    trail.context(request),
                    practice=user.practice,
                    questionnaire=data["questionnaire"],
                    licence_holder=data["licence_holder"],
                    licence_terms=data["licence_terms"],
                    permits_electronic_use=data["permits_electronic_use"],
                )
            except actions.MeasureActionError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"{row.name} was imported.")
                return redirect("measures:instrument", row.code)
        return render(request, "measures/import.html", {"form": form}, status=400)
    return render(request, "measures/import.html", {"form": form})
