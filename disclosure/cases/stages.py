"""The stages of a case, in order, and the close reasons."""

from django.db import models


class Stage(models.TextChoices):
    FOUND = "found", "Found"
    VENDOR_NOTIFIED = "vendor_notified", "Vendor notified"
    SECURED = "secured", "Secured"
    DATA_DELETED = "data_deleted", "Data deleted"
    PUBLISHED = "published", "Published"
    CLOSED = "closed", "Closed"


STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)

# The Case field holding each stage's occurred_at.
STAGE_TIME_FIELD: dict[Stage, str] = {
    Stage.FOUND: "found_at",
    Stage.VENDOR_NOTIFIED: "vendor_notified_at",
    Stage.SECURED: "secured_at",
    Stage.DATA_DELETED: "data_deleted_at",
    Stage.PUBLISHED: "published_at",
    Stage.CLOSED: "closed_at",
}


def stage_index(stage: str) -> int:
    return STAGE_ORDER.index(Stage(stage))


class CloseReason(models.TextChoices):
    PUBLISHED = "published", "Published"
    NOT_PUBLISHED = "not_published", "Not published"
    INVALID = "invalid", "Invalid"
    DUPLICATE = "duplicate", "Duplicate"
