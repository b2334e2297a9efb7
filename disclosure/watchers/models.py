"""What the deadline watcher has done, so that it never does it twice.

``DeadlineMark``: one row per reminder, missed deadline or "vendor
unresponsive" recorded on a case, unique by (case, deadline, due date, step,
days before). It is written in the transaction that appends the event it
stands for, under the case's row lock; the unique constraint is the last
line of defence should two passes ever get past the lock together (the
second insert fails and its whole transaction, events included, rolls back).

``DeadlineWatch``: one row per case the watcher has looked at, saying up to
which ledger event it looked (``ledger_seq``) and when something new can next
fall due (``next_check_at``) under which reminder offsets (``offsets``). A
pass skips in SQL every case whose row still holds: any change to a case
appends an event (its ``ledger_seq`` moves), so a changed case is looked at
again. A cache only: deleting rows costs one slower pass, never a repeat.
"""

from django.db import models


class DeadlineStep(models.TextChoices):
    REMINDER = "reminder", "Reminder"
    MISSED = "missed", "Missed"
    UNRESPONSIVE = "unresponsive", "Vendor unresponsive"


class DeadlineMark(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    # The deadline (cases.deadlines.KINDS: acknowledge, secure, publish).
    deadline = models.CharField(max_length=20)
    due = models.DateTimeField()
    step = models.CharField(max_length=20, choices=DeadlineStep.choices)
    # A reminder's offset (days before ``due``); 0 for the other steps.
    days_before = models.PositiveSmallIntegerField(default=0)
    # The ledger event that records it (its seq in the case's chain).
    event_seq = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["case_id", "due", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "deadline", "due", "step", "days_before"],
                name="deadlinemark_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.deadline} {self.step} ({self.due:%Y-%m-%d %H:%M})"


class DeadlineWatch(models.Model):
    case = models.OneToOneField(
        "cases.Case", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    ledger_seq = models.PositiveIntegerField()
    # None: nothing can fall due any more under these terms.
    next_check_at = models.DateTimeField(null=True)
    offsets = models.CharField(max_length=100)

    def __str__(self) -> str:
        return f"{self.case_id} at #{self.ledger_seq}, next {self.next_check_at}"
