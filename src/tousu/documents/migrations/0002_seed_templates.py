"""Seed the shipped document templates so administrators find them in the admin to edit."""

from django.db import migrations


def seed(apps, schema_editor):
    from tousu.documents.rendering import default_specs

    DocumentTemplate = apps.get_model("documents", "DocumentTemplate")
    for spec in default_specs():
        DocumentTemplate.objects.get_or_create(
            kind=spec.kind,
            sector=spec.sector,
            defaults={
                "title": spec.title,
                "serial_code": spec.code,
                "body": spec.body,
                "is_public": spec.is_public,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("documents", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
