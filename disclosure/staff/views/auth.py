"""Sign-in and sign-out for research staff (the password step; the second
factor and the rest of the flow are in disclosure.signin)."""

from django.contrib.auth import views as auth_views

from disclosure.signin.views import SignInView


class StaffLoginView(SignInView):
    template_name = "staff/login.html"
    interface = "staff"
    default_next = "staff:dashboard"
    redirect_authenticated_user = True


class StaffLogoutView(auth_views.LogoutView):
    next_page = "staff:login"
