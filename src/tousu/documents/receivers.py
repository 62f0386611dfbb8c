"""Issue the document an action names (`document:` in the flow), in the action's own transaction: the
action and its document happen together or not at all."""

from django.dispatch import receiver

from tousu.accounts.models import User
from tousu.cases.signals import action_applied

from .services import issue_document


@receiver(action_applied, dispatch_uid="tousu.documents.issue_on_action")
def issue_on_action(sender, complaint, action, event, user, document=None, **kwargs):
    # The engine says which document this action issues now (its `document_when` decided).
    if document:
        issue_document(
            complaint,
            document,
            event=event,
            user=user if isinstance(user, User) else None,
            actor_name=event.actor_name,
        )
