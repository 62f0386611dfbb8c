"""Background tasks (django-tasks, database backend), run by `tousu worker`."""

from django.conf import settings
from django.core.mail import send_mail
from django_tasks import task


@task()
def send_risk_alert_emails(recipients: list[str], message: str) -> int:
    return send_mail(
        "【投诉系统】风险提示",
        message,
        settings.DEFAULT_FROM_EMAIL,
        recipients,
        fail_silently=False,
    )


@task()
def retrain_from_corrections(process_name: str) -> str:
    """Enough staff corrections have accumulated: retrain, and keep the previous model in use if
    the new one evaluates worse (routing.retrain_if_better)."""
    from .routing import retrain_if_better

    return retrain_if_better(process_name).reason
