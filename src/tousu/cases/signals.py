"""What other parts of Tousu listen to: sent inside the transaction that wrote the event, so a
receiver's own writes commit or roll back with it; side effects outside the database (webhooks,
e-mail) belong in `transaction.on_commit`."""

from django.dispatch import Signal

# complaint, event, parties, clocks (the rows just written: receivers need not read them back),
# access_code (the one moment it exists in clear: the complainant's acknowledgement carries it)
complaint_registered = Signal()
# complaint, action (ActionDef), event, user
action_applied = Signal()
# complaint, event, related (or None): a case closed outside its flow's actions (a merged duplicate)
closed_by_system = Signal()
