"""The one gate of the staff UI: signed-in research staff only."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse

from disclosure.cases import access


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous users go to the sign-in page; signed-in users who are not
    research staff (vendor contacts, members of nothing) get a 404: the staff
    UI does not exist for them."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not access.can_use_staff_ui(request.user):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapper
