"""The clinical-support checklist page offered after a not-on-track alert
(``outcomes/support.py``): the areas to review with their prompts and sources, the form
that records which were reviewed, and the client's earlier reviews."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.access import visible_alerts
from reverie.care.models import Alert, AlertKind
from reverie.core.decorators import role_required, signed_in_user
from reverie.outcomes import actions, support
from reverie.outcomes.forms import SupportReviewForm
from reverie.outcomes.models import SupportReview


def _alert(user: User, pk: int) -> Alert:
    """A not-on-track alert of a client in ``user``'s care now, or 404."""
    return get_object_or_404(
        visible_alerts(user).select_related("client", "episode__therapist", "acknowledged_by"),
        pk=pk,
        kind=AlertKind.NOT_ON_TRACK,
    )


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def support_review(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    alert = _alert(user, pk)
    review = SupportReview.objects.filter(alert=alert).select_related("author").first()
    ctx = trail.context(request)
    status = 200
    if request.method == "POST":
        form = SupportReviewForm(request.POST)
        if form.is_valid():
            try:
                actions.record_support_review(
                    ctx,
                    alert,
                    reviewed=form.cleaned_data["reviewed"],
                    note=form.cleaned_data["note"],
                    acknowledge=form.cleaned_data["acknowledge"],
                )
            except actions.OutcomeActionError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Checklist review saved.")
                return redirect("outcomes:support_review", pk=alert.pk)
        status = 400
    else:
        initial = {"acknowledge": alert.acknowledged_at is None}
        if review is not None:
            initial |= {"reviewed": review.reviewed, "note": review.note}
        form = SupportReviewForm(initial=initial)
    earlier = list(
        SupportReview.objects.filter(alert__client=alert.client)
        .exclude(alert=alert)
        .select_related("alert", "author")
        .order_by("-alert__created_at")[:20]
    )
    trail.record(
        ctx,
        Action.VIEW,
        review if review is not None else alert,
        client_id=alert.client_id,
        detail={"view": "support_review", "earlier": [r.pk for r in earlier]},
    )
    return render(
        request,
        "outcomes/support_review.html",
        {
            "alert": alert,
            "client": alert.client,
            "review": review,
            "form": form,
            "areas": list(zip(support.AREAS, form["reviewed"], strict=True)),
            "sources": support.SOURCES,
            "earlier": earlier,
        },
        status=status,
    )
