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
