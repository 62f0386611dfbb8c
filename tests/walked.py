"""Every (state, action) edge any test walks through the engine, by template: the flow, API, web
and portal tests alike. tests/flows/test_every_edge_walked.py checks it against the templates."""

WALKED: dict[str, set[tuple[str, str]]] = {}


def record_edge(sender, complaint, action, event, **kwargs):
    WALKED.setdefault(complaint.process.name, set()).add((event.from_state, action.name))
