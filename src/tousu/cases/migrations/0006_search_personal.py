from django.db import migrations


def reindex(apps, schema_editor):
    """Personal values are now indexed apart, prefixed (tousu.cases.search): index every case
    again, so those who see them masked can no longer find cases by them."""
    from tousu.cases import search
    from tousu.processes.models import _parse

    Complaint = apps.get_model("cases", "Complaint")
    Party = apps.get_model("cases", "Party")
    definitions = {}
    batch = []
    for c in Complaint.objects.select_related("process").order_by("pk").iterator(chunk_size=2000):
        d = definitions.get(c.process_id)
        if d is None:
            d = definitions[c.process_id] = _parse(c.process.source)
        parties = list(Party.objects.filter(complaint_id=c.pk))
        doc = search.document(c, parties, definition=d)
        batch.append((c.pk, " ".join(search.tokens(c.tracking_number) + [doc])))
        if len(batch) >= 2000:
            search.index_rows(batch)
            batch = []
    search.index_rows(batch)


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_owners"), ("processes", "0001_initial")]
    operations = [migrations.RunPython(reindex, migrations.RunPython.noop)]
