"""Sign-in and sign-out for research staff (the password step; the second
factor and the rest of the flow are in disclosure.signin)."""

from disclosure.signin.views import SignInView, SignOutView


class StaffLoginView(SignInView):
    template_name = "staff/login.html"
    interface = "staff"
    default_next = "staff:dashboard"
    redirect_authenticated_user = True


class StaffLogoutView(SignOutView):
    interface = "staff"
    next_page = "staff:login"
