"""Questionnaires opened from an emailed one-time link, with no account."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from reverie.accounts.models import Role
from reverie.measures.models import (
    Administration,
    MeasureRequest,
    Source,
)
from reverie.measures.views.answering import (
    answer_page,
    autosave,
    done_page,
)
from reverie.measures.views.lookups import (
    link_context,
    link_request,
)

THERAPIST = (Role.THERAPIST,)


#: Session key: the request this browser has just completed through its link.
_LINK_DONE = "measures.link_done"


def _used_link_page(request: HttpRequest, measure_request: MeasureRequest) -> HttpResponse:
    """What a link shows once it no longer opens a questionnaire (completed, withdrawn,
    closed). Whoever holds the link may not be the client — anyone who can read the
    client's inbox can open it — so the page is the same in every case: no answers, no
    crisis state, no instrument, not even which of those happened. The practice's crisis
    resources are on it for everyone.

    The one exception is the browser that has just submitted through this link: it is
    shown the thank-you page (with the crisis card when an answer called for it) once,
    right after the redirect that follows the submission."""
    if request.session.get(_LINK_DONE) == measure_request.pk:
        del request.session[_LINK_DONE]
        administration = Administration.objects.filter(request=measure_request).first()
        if administration is not None:
            return done_page(request, measure_request, administration)
    return render(
        request,
        "measures/link_closed.html",
        {"practice": measure_request.client.practice},
        status=410,
    )


def link(request: HttpRequest, token: str) -> HttpResponse:
    """A questionnaire opened from an emailed link: no account needed; the token is the key,
    and it stops working when the questionnaire is completed or closes."""
    measure_request = link_request(token)
    ctx = link_context(request, measure_request)
    url = reverse("measures:link", args=[token])
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405)

    def remember_submission() -> None:
        request.session[_LINK_DONE] = measure_request.pk

    return answer_page(
        request,
        ctx,
        measure_request,
        source=Source.LINK,
        post_url=url,
        save_url=reverse("measures:link_save", args=[token]),
        done_url=url,
        closed_page=_used_link_page,
        submitted=remember_submission,
    )


@require_POST
def link_save(request: HttpRequest, token: str) -> JsonResponse:
    measure_request = link_request(token)
    return autosave(request, link_context(request, measure_request), measure_request)
