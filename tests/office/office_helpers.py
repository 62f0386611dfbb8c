"""Helpers for tests/office (importable: the test directories are not packages)."""


def notes(user, complaint=None, kind=None):
    from tousu.clocks.models import Notification

    qs = Notification.objects.filter(user=user)
    if complaint is not None:
        qs = qs.filter(complaint=complaint)
    if kind is not None:
        qs = qs.filter(kind__startswith=kind)
    return qs


def mails(user, complaint=None, kind=None):
    from tousu.messaging.models import Message

    qs = Message.objects.filter(user=user, audience=Message.STAFF)
    if complaint is not None:
        qs = qs.filter(complaint=complaint)
    if kind is not None:
        qs = qs.filter(kind__startswith=kind)
    return qs
