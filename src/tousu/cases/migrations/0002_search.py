from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE TABLE cases_search ("
            # No foreign key: Django's test flush truncates the model tables only, and a reference
            # from this (unmodelled) table would make that TRUNCATE fail.
            " complaint_id bigint PRIMARY KEY,"
            " body text NOT NULL,"
            " tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED)"
        )
        schema_editor.execute("CREATE INDEX cases_search_tsv ON cases_search USING gin (tsv)")
    else:
        # rowid = complaint id; the body holds rjieba tokens separated by spaces.
        schema_editor.execute(
            "CREATE VIRTUAL TABLE cases_search USING fts5(body, tokenize='unicode61')"
        )


def fill(apps, schema_editor):
    """Index the cases that exist already (an upgrade), in batches."""
    from tousu.cases import search

    Complaint = apps.get_model("cases", "Complaint")
    Party = apps.get_model("cases", "Party")
    batch = []
    for c in Complaint.objects.order_by("pk").iterator(chunk_size=2000):
        parties = list(Party.objects.filter(complaint_id=c.pk))
        batch.append((c.pk, search.document(c, parties)))
        if len(batch) >= 2000:
            search.index_rows(batch)
            batch = []
    search.index_rows(batch)


def drop(apps, schema_editor):
    schema_editor.execute("DROP TABLE cases_search")


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [
        migrations.RunPython(create, drop),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
