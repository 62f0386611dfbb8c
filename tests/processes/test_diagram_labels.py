"""The flow diagram's edge labels neither overlap each other or a state, nor fall outside the
drawing (they used to collide around busy states and one was cut off at the edge)."""

import pytest

from tousu.processes.diagram import _label_box, _layout, _overlaps
from tousu.processes.services import template_names, template_path
from tousu.processes.validation import load_file


@pytest.mark.parametrize("template", template_names())
def test_labels_have_room_of_their_own(template):
    laid = _layout(load_file(template_path(template)))
    labels = [_label_box(label) for label in laid.labels.values()]
    states = [(x - w / 2, y - h / 2, x + w / 2, y + h / 2) for x, y, w, h in laid.nodes.values()]
    for i, a in enumerate(labels):
        assert 0 <= a[0] and a[2] <= laid.width and 0 <= a[1] and a[3] <= laid.height, a
        assert not any(_overlaps(a, s) for s in states)
        assert not any(_overlaps(a, b) for b in labels[i + 1 :])
    # Every edge is labelled, in full beside it or by a number that the legend explains.
    for label in laid.labels.values():
        if label.badge:
            assert any(line.startswith(f"{label.text} ") for line in laid.legend)
