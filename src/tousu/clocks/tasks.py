"""Background tasks (django-tasks, database backend), run by `tousu worker`."""

from django.conf import settings
from django.core.mail import send_mail
from django_tasks import task


# Staff e-mail now goes through the outbox (tousu.messaging); this task stays so that e-mails queued
# by an earlier version are still sent by the worker after an upgrade.
@task()
def send_notification_emails(recipients: list[str], message: str) -> int:
    return send_mail(
        "【投诉系统】时限提醒",
        message,
        settings.DEFAULT_FROM_EMAIL,
        recipients,
        fail_silently=False,
    )
