from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from reverie.core.http import api_methods, api_view


@api_methods("GET")
@api_view()
def me(request: HttpRequest) -> JsonResponse:
    user = request.user
    return JsonResponse(
        {
            "id": user.pk,
            "email": user.email,  # type: ignore[union-attr]
            "name": user.display_name,  # type: ignore[union-attr]
            "role": user.role,  # type: ignore[union-attr]
            "practice": user.practice.slug,  # type: ignore[union-attr]
        }
    )
