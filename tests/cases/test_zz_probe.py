import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def test_probe(register):
    register()
    with CaptureQueriesContext(connection) as ctx:
        register()
    for q in ctx.captured_queries:
        print(q["sql"][:300])
    print(len(ctx.captured_queries))
