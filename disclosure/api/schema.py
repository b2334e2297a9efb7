"""Schema post-processing: every operation documents the JSON errors it can
answer ({code, message}), so that clients and schemathesis know them; and an
action's body says which fields it needs one of (``anyOf``) besides its
required ones, so that the schema requires what the services require."""

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "Stable, for programs."},
        "message": {"type": "string", "description": "For people."},
        "field": {"type": "string", "description": "The input the error is about."},
        "errors": {"description": "Field errors of a malformed body."},
    },
    "required": ["code", "message"],
}
DESCRIPTIONS = {
    "400": "Malformed input or a rule of the service refused it.",
    "401": "Not authenticated, or the token is invalid, revoked or expired.",
    "403": "Authenticated, but the role or the token's scope does not allow it.",
    "404": "No such object, or the caller may not see it.",
    "409": "The case's stage or state does not allow it now.",
    "413": "The body is too large (JSON bodies: DATA_UPLOAD_MAX_MEMORY_SIZE).",
    "429": "Too many requests for this token or address.",
}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            codes = ["400", "401", "403", "404", "429"]
            if method in ("post", "patch", "put", "delete"):
                codes += ["409", "413"]
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(
                    code,
                    {
                        "description": DESCRIPTIONS[code],
                        "content": {"application/json": {"schema": ERROR_REF}},
                    },
                )
    return add_alternatives(result)


def add_alternatives(result):
    """``anyOf`` required alternatives on the action bodies whose service
    needs one of several fields (``ActionInput.requires_one_of``), and
    ``minProperties: 1`` on the case details' change (at least one field)."""
    from .serializers.actions import ACTION_INPUTS  # the serializers import the app's models

    schemas = result.get("components", {}).get("schemas", {})
    for input_class in ACTION_INPUTS.values():
        names = getattr(input_class, "requires_one_of", ())
        for suffix in ("", "Request"):  # the request body's component is split off
            component = schemas.get(input_class.__name__ + suffix)
            if names and component is not None:
                component["anyOf"] = [{"required": [name]} for name in names]
    for name in ("UpdateDetailsInput", "PatchedUpdateDetailsInput"):
        for suffix in ("", "Request"):
            if name + suffix in schemas:
                schemas[name + suffix]["minProperties"] = 1
    return result
