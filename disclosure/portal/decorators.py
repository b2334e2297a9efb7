"""The gates of the portal: vendor contacts only (staff get a read-only
preview elsewhere); anonymous users go to the portal's own sign-in."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse

from disclosure.cases import access


def contact_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous (and deactivated) users go to the portal sign-in; signed-in
    users who are not vendor contacts (research staff, members of nothing)
    get a 404: the portal has nothing of theirs."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("portal:login"))
        if not access.can_use_portal(request.user):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapper
