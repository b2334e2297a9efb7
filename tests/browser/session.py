"""What the browser tests share: a context carrying a user's session (the
sign-in pages and their second factor have their own browser tests) and a
page that records every Content-Security-Policy violation."""

from django.conf import settings
from django.test import Client

from disclosure.accounts.models import User

# Installed before any of the page's own scripts: every violation the page
# reports, whatever its source (an inline script, style, attribute, handler).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(
    `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`
  );
});
"""


def signed_in(browser, live_server, user: User | str, *, width: int = 1366):
    """A browser context with ``user``'s session (a User or a username)."""
    if isinstance(user, str):
        user = User.objects.get(username=user)
    client = Client()
    client.force_login(user)
    viewport = {"width": width, "height": 900}
    context = browser.new_context(base_url=live_server.url, viewport=viewport)
    context.set_default_timeout(15_000)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return context


class Watched:
    """A page whose CSP violations (events and console lines) are kept."""

    def __init__(self, context):
        context.add_init_script(RECORD_VIOLATIONS)
        self.page = context.new_page()
        self.console: list[str] = []
        self.page.on(
            "console",
            lambda msg: (
                self.console.append(msg.text)
                if "Content Security Policy" in msg.text or "Refused to" in msg.text
                else None
            ),
        )

    def visit(self, path: str) -> None:
        """Open ``path``, wait for its requests to settle and fail on any
        violation; the page must carry the site's policy (or a page's own
        addition to it), never one that allows inline code wholesale."""
        response = self.page.goto(path)
        assert response is not None and response.status == 200, path
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, (path, policy)
        self.page.wait_for_load_state("networkidle")
        self.assert_clean(path)

    def assert_clean(self, where: str) -> None:
        events = self.page.evaluate("window.__cspViolations")
        assert (events, self.console) == ([], []), where
