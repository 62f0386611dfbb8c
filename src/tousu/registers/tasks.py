"""Large imports run in the background worker (`tousu worker`), not in the web request."""

from __future__ import annotations

from django_tasks import task


@task()
def run_import_task(batch_id: int, skip_errors: bool = False) -> str:
    from . import services

    try:
        return services.run_batch(batch_id, skip_errors=skip_errors).status
    except (services.Refused, services.ImportProblem) as exc:
        return str(exc)  # recorded on the batch for its page
