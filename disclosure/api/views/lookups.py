"""The verified lookup over the API (lookups), for vendor contacts (portal
accounts, by token or session): ask for a verification, confirm a mailed
code, check a DNS record, look a domain up. Every refusal of a lookup is the
same 200 with no case; over the budget, a 429 with Retry-After."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from disclosure.accounts.audit import request_address
from disclosure.cases import access
from disclosure.core.timeutils import now
from disclosure.lookups import lookup as lookups
from disclosure.lookups import selectors, services
from disclosure.lookups.limits import RateLimited
from disclosure.lookups.models import DomainVerification

from ..errors import error_body
from ..permissions import TokenScope
from ..serializers.common import ErrorSerializer
from ..serializers.lookups import (
    CodeInput,
    DnsCheckSerializer,
    DomainInput,
    LookupAnswerSerializer,
    VerificationInput,
    VerificationSerializer,
    answer_data,
    verification_data,
)


class PortalAccountsOnly(permissions.BasePermission):
    """Lookups are for vendor contacts (portal accounts), not for staff."""

    message = "Domain lookups are for vendor contacts (portal accounts)."
    code = "not_permitted"

    def has_permission(self, request, view) -> bool:
        return access.can_use_portal(request.user)


# Signed in (token or session), a read-write token to change anything, a portal account.
ACCESS = [permissions.IsAuthenticated, TokenScope, PortalAccountsOnly]


def _limited(error: RateLimited) -> Response:
    response = Response(error_body(error.code, error.message), status=429)
    response["Retry-After"] = str(error.retry_after)
    return response


def _row(row: DomainVerification) -> dict:
    token = services.dns_token(row) if row.method == "dns_txt" and not row.verified_at else ""
    return verification_data(row, now=now(), token=token)


class VerificationList(APIView):
    permission_classes = ACCESS

    @extend_schema(responses={200: VerificationSerializer(many=True)})
    def get(self, request):
        """Your verified domains and pending challenges."""
        rows = [*selectors.verified_domains(request.user),
                *selectors.pending_verifications(request.user)]  # fmt: skip
        return Response([_row(r) for r in rows])

    @extend_schema(
        request=VerificationInput,
        responses={201: VerificationSerializer, 400: ErrorSerializer, 429: ErrorSerializer},
    )
    def post(self, request):
        """Start proving control of a domain: a code mailed to ``address``, or
        a DNS TXT record to publish (its name and value in the answer)."""
        body = VerificationInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            if data["method"] == "dns_txt":
                row = services.start_dns_verification(user=request.user, domain=data["domain"])
                row = row.verification
            else:
                row = services.start_mail_verification(
                    user=request.user, domain=data["domain"], address=data.get("address", "")
                )
        except RateLimited as e:
            return _limited(e)
        return Response(_row(row), status=status.HTTP_201_CREATED)


class VerificationConfirm(APIView):
    permission_classes = ACCESS

    @extend_schema(request=CodeInput, responses={200: VerificationSerializer})
    def post(self, request):
        """Verify a domain with the code mailed for it."""
        body = CodeInput(data=request.data)
        body.is_valid(raise_exception=True)
        row = services.confirm_code(user=request.user, **body.validated_data)
        return Response(_row(row))


class VerificationCheckDns(APIView):
    permission_classes = ACCESS

    @extend_schema(request=DomainInput, responses={200: DnsCheckSerializer})
    def post(self, request):
        """Ask the DNS for the pending challenge's TXT record now."""
        body = DomainInput(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            check = services.check_dns(user=request.user, domain=body.validated_data["domain"])
        except RateLimited as e:
            return _limited(e)
        return Response({"verified": check.verified, "problem": check.problem,
                         "verification": _row(check.verification)})  # fmt: skip


class Lookup(APIView):
    permission_classes = ACCESS

    def _answer(self, request, domain) -> Response:
        body = DomainInput(data={"domain": domain})
        body.is_valid(raise_exception=True)
        try:
            answer = lookups.lookup(user=request.user, domain=body.validated_data["domain"],
                                    client_address=request_address(request),
                                    interface="api")  # fmt: skip
        except RateLimited as e:
            return _limited(e)
        return Response(answer_data(answer))

    @extend_schema(
        parameters=[OpenApiParameter("domain", str, required=True)],
        responses={200: LookupAnswerSerializer, 429: ErrorSerializer},
    )
    def get(self, request):
        """Which cases mention ``domain`` (verified by you) or its subdomains:
        per case the stage, data categories and counts over your domain's
        records only. Not verified, not present and lookups off: the same
        answer, with no case."""
        return self._answer(request, request.query_params.get("domain", ""))

    @extend_schema(request=DomainInput, responses={200: LookupAnswerSerializer})
    def post(self, request):
        """The same as GET, with the domain in the body."""
        domain = request.data.get("domain", "") if hasattr(request.data, "get") else ""
        return self._answer(request, domain)
