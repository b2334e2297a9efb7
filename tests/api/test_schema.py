"""The committed schema (docs/openapi.yaml) is the code's schema, and the
schema and docs are served at /api/v1/schema/ and /api/v1/docs/ without
anything from a CDN."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"

pytestmark = pytest.mark.django_db


def test_committed_schema_matches_the_code():
    out = io.StringIO()
    call_command("spectacular", stdout=out)
    assert out.getvalue() == OPENAPI.read_text(), (
        "docs/openapi.yaml is out of date: run "
        "`python manage.py spectacular --file docs/openapi.yaml` and commit it."
    )


def test_schema_is_served_to_anyone(api):
    r = api.get("/api/v1/schema/?format=json")
    assert r.status_code == 200
    schema = r.json()
    assert schema["info"]["title"] == "Disclosure API"
    paths = schema["paths"]
    assert "/api/v1/cases/{reference}/actions/notify_vendor/" in paths
    assert "/api/v1/intake/findings/" in paths
    # Every operation documents the JSON error answers.
    post = paths["/api/v1/cases/{reference}/actions/secure/"]["post"]
    assert {"201", "400", "401", "403", "404", "409", "429"} <= set(post["responses"])


def test_docs_come_from_the_sidecar(api):
    r = api.get("/api/v1/docs/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert "/api/v1/schema/" in html


# Where each action runs, and who takes it (the rest of the body is built
# from the schema alone). Values a generator cannot guess (ids of people,
# a URL) by field name; everything else from its type.
ACTION_SETUP = {
    "notify_vendor": ("found", "lead"),
    "secure": ("vendor_notified", "lead"),
    "record_deletion": ("secured", "lead"),
    "publish": ("secured", "lead"),
    "close": ("found", "lead"),
    "acknowledge": ("vendor_notified", "lead"),
    "log_communication": ("found", "lead"),
    "send_mail": ("vendor_notified", "lead"),
    "attach_evidence": ("found", "lead"),
    "file_dispute": ("found", "lead"),
    "answer_dispute": ("vendor_notified", "lead"),
    "settle_dispute": ("vendor_notified", "lead"),
    "countersign_attestation": ("data_deleted", "vendor_contact"),
    "correct_event": ("found", "lead"),
    "set_legal_hold": ("found", "lead"),
    "escalate": ("vendor_notified", "lead"),
    "update_details": ("found", "lead"),
    "open_follow_up": ("secured", "lead"),
}


def _resolve(schema, spec):
    while "$ref" in spec:
        spec = schema["components"]["schemas"][spec["$ref"].rsplit("/", 1)[1]]
    if "allOf" in spec:
        return _resolve(schema, spec["allOf"][0])
    return spec


def _needed(spec) -> list[str]:
    """The fields the schema requires of an object: its required ones, the
    first of each ``anyOf`` of alternatives, the first property when it needs
    ``minProperties`` and has no required one."""
    needed = list(spec.get("required", []))
    for alternative in spec.get("anyOf", [])[:1]:
        needed += alternative["required"]
    if spec.get("minProperties", 0) > len(needed):
        needed += [k for k in spec["properties"] if k not in needed][: spec["minProperties"]]
    return needed


def _minimal(schema, spec, name, known):
    """The value of a required field built from its schema: only the
    required properties of objects, one item in arrays."""
    if name in known:
        return known[name]
    spec = _resolve(schema, spec)
    if "enum" in spec:
        return next(v for v in spec["enum"] if v not in ("", None))
    if "oneOf" in spec:
        return _minimal(schema, spec["oneOf"][0], name, known)
    kind = spec.get("type")
    if kind == "object":
        return {
            key: _minimal(schema, prop, key, known)
            for key, prop in spec.get("properties", {}).items()
            if key in _needed(spec)
        }
    if kind == "array":
        return [_minimal(schema, spec["items"], name, known)]
    if kind == "integer":
        return 1
    if kind == "boolean":
        return True
    if spec.get("format") == "date-time":
        return known["__now__"]
    if spec.get("format") == "date":
        return known["__now__"][:10]
    return f"minimal {name}"


@pytest.mark.parametrize("action", sorted(ACTION_SETUP))
def test_each_actions_schema_minimal_body_is_enough(request, action, as_, case_at, analyst):
    """Issue 13: the schema's required fields are what the service requires.
    A body with only the required fields (as the schema and GET actions/ give
    them) is never refused for a field the schema calls optional, and runs."""
    import base64

    from disclosure.cases.transitions import TRANSITIONS
    from disclosure.core.timeutils import now

    assert set(ACTION_SETUP) == set(TRANSITIONS)
    stage, who = ACTION_SETUP[action]
    case = case_at(stage)
    actor = request.getfixturevalue(who)
    filed = None
    if action in ("answer_dispute", "settle_dispute"):
        from disclosure.cases import services

        filed = services.file_dispute(actor=actor, case=case, subject="Count", firm_position="a",
                                      firm_provenance="b", vendor_position="c",
                                      vendor_provenance="d")  # fmt: skip
    client = as_(actor)
    schema = client.get("/api/v1/schema/?format=json").json()
    operation = schema["paths"][f"/api/v1/cases/{{reference}}/actions/{action}/"]["post"]
    content = operation["requestBody"]["content"]
    media = "multipart/form-data" if action == "attach_evidence" else "application/json"
    body_schema = _resolve(schema, content[media]["schema"])
    required = set(body_schema.get("required", []))
    alternatives = [a["required"][0] for a in body_schema.get("anyOf", [])]
    listed = {a["action"]: a for a in client.get(
        f"/api/v1/cases/{case.reference}/actions/").json()}  # fmt: skip
    if action in listed:  # GET actions/ says the same
        assert {k for k, req in listed[action]["fields"].items() if req} == required
        assert listed[action]["requires_one_of"] == alternatives
    known = {
        "__now__": now().isoformat(),
        "performed_by": actor.pk if who != "vendor_contact" else analyst.pk,
        "verified_by": analyst.pk,
        "url": "https://research.example/advisories/1",
        "sha256": "ab" * 32,
        "content_base64": base64.b64encode(b"minimal content").decode(),
        "seq": 1,
        "bytes": 1,
        "dispute": filed.pk if filed else 1,
        "to": ["security@contoso.example"],  # an address at the vendor's domain
        # the first close reason ("published") fits only a published case
        **({"reason": "invalid"} if action == "close" else {}),
    }
    body = _minimal(schema, body_schema, "", known)
    assert set(body) == set(_needed(body_schema))
    if action == "attach_evidence":
        from django.core.files.uploadedfile import SimpleUploadedFile

        body["file"] = SimpleUploadedFile("capture.txt", b"minimal file")
        r = client.post(f"/api/v1/cases/{case.reference}/actions/{action}/", body,
                        format="multipart")  # fmt: skip
    else:
        r = client.post(f"/api/v1/cases/{case.reference}/actions/{action}/", body, format="json")
    answer = r.json()
    if r.status_code == 400:
        named = {answer.get("field")} | set(answer.get("errors") or {})
        assert not (named - required - set(alternatives) - {None}), (action, answer)
    assert r.status_code == 201, (action, answer)
