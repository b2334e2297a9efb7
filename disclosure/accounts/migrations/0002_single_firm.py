"""Exactly one research firm: any organization of kind 'firm' grants its
members staff rights on every case, so a second one would be full access."""

from django.db import migrations, models


def refuse_several_firms(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    firms = list(Organization.objects.filter(kind="firm").values_list("name", flat=True))
    if len(firms) > 1:
        raise RuntimeError(
            "More than one organization of kind 'firm' exists "
            f"({', '.join(sorted(firms))}); any firm grants staff rights, so keep one: "
            "move the staff memberships to it and make the others vendors (or delete "
            "them) before migrating."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(refuse_several_firms, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="organization",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "firm")),
                fields=("kind",),
                name="organization_single_firm",
                violation_error_message="There is exactly one research firm.",
            ),
        ),
    ]
