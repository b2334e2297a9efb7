"""The printed timeline's one-line summaries of the evidence integrity events."""

from disclosure.exports.summaries import kind_label, summary


def test_an_integrity_alarm_names_the_file_and_what_was_found():
    assert kind_label("evidence_integrity_failed") == "Evidence integrity alarm"
    assert (
        summary(
            "evidence_integrity_failed",
            {
                "evidence_id": 7,
                "sha256": "a" * 64,
                "found_sha256": "b" * 64,
                "detected_by": "check",
            },
        )
        == f"Evidence #7, SHA-256 {'a' * 64} · stored bytes hash to {'b' * 64} · check"
    )
    assert (
        summary(
            "evidence_integrity_failed",
            {
                "evidence_id": 7,
                "sha256": "a" * 64,
                "found_sha256": None,
                "detected_by": "download:api",
            },
        )
        == f"Evidence #7, SHA-256 {'a' * 64} · missing from storage · download:api"
    )


def test_a_restored_file_is_summarised():
    assert kind_label("evidence_integrity_restored") == "Evidence integrity restored"
    assert (
        summary("evidence_integrity_restored", {"evidence_id": 7, "detected_by": "check"})
        == "Evidence #7 intact again · check"
    )


TIGHT = {
    "days_to_acknowledge": 1,
    "days_to_secure": 2,
    "days_to_publish": 10,
    "grace_days": 0,
    "business_days": False,
}


def test_a_policy_terms_change_names_what_changed():
    assert kind_label("policy_terms_changed") == "Policy terms changed"
    payload = {
        "policy": {"id": 3, "name": "Tight"},
        "from": TIGHT,
        "to": {**TIGHT, "days_to_secure": 5, "grace_days": 3},
        "changed": ["days_to_secure", "grace_days"],
    }
    assert summary("policy_terms_changed", payload) == (
        "Terms of 'Tight': secure 2 → 5 days, grace 0 → 3 days"
    )
    recorded = {"policy": {"id": 3, "name": "Tight"}, "from": None, "to": TIGHT}
    assert summary("policy_terms_changed", recorded) == (
        "Terms of 'Tight' recorded: acknowledge 1, secure 2, publish 10, grace 0 days"
    )
    assert summary("policy_terms_changed", {"to": "garbled"}) == ""


def test_a_dispute_answered_and_settled_are_summarised():
    assert kind_label("dispute_answered") == "Dispute answered"
    assert summary("dispute_answered", {"dispute_id": 4, "subject": "Counts", "answer": "No."}) == (
        "Firm answered dispute #4"
    )
    assert kind_label("dispute_settled") == "Dispute settled"
    settled = {"dispute_id": 4, "subject": "Counts", "outcome": "rejected", "reason": "No facts"}
    assert summary("dispute_settled", settled) == "Dispute #4 settled: rejected — No facts"
