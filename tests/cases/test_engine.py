import threading

import pytest

from tousu.cases import engine
from tousu.cases.errors import Conflict, Forbidden, Invalid, NotPossible
from tousu.cases.models import AppendOnly, Complaint, Event, Party
from tousu.cases.selectors import complaint_for, visible_complaints

pytestmark = pytest.mark.django_db


def names(actions):
    return {a.name for a in actions}


def test_possible_actions_depend_on_state_and_role(register, staff):
    c = register()
    assert names(engine.possible_actions(c, staff["receiver"])) == {
        "resolve_on_spot",
        "judge_valid",
        "judge_invalid",
        "add_note",
    }
    assert names(engine.possible_actions(c, staff["auditor"])) == set()
    assert names(engine.possible_actions(c, staff["leader"])) == {"add_note"}


def test_departmental_roles_act_only_on_their_department(register, act, staff):
    c = register()
    c = act(c, "officer", "judge_valid")
    c = act(c, "officer", "assign_department", category="quality")
    assert "propose_plan" in names(engine.possible_actions(c, staff["handler_q"]))
    assert "propose_plan" not in names(engine.possible_actions(c, staff["handler_t"]))
    with pytest.raises(Forbidden):
        engine.apply_action(
            c,
            staff["handler_t"],
            "propose_plan",
            data={"cause": "x", "plan": "y"},
            version=c.version,
        )


def test_forbidden_role_gets_403(register, staff):
    c = register()
    with pytest.raises(Forbidden):
        engine.apply_action(c, staff["leader"], "judge_valid", version=c.version)


def test_impossible_action_lists_the_possible_ones(register, staff):
    c = register()
    with pytest.raises(NotPossible) as exc:
        engine.apply_action(
            c, staff["officer"], "instruct", data={"instruction": "x"}, version=c.version
        )
    assert set(exc.value.details["possible"]) == {
        "resolve_on_spot",
        "judge_valid",
        "judge_invalid",
        "add_note",
    }
    assert "judge_valid（投诉成立）" in exc.value.message


def test_stale_version_is_a_conflict_and_changes_nothing(register, staff):
    c = register()
    with pytest.raises(Conflict):
        engine.apply_action(c, staff["officer"], "judge_valid", version=c.version + 1)
    c.refresh_from_db()
    assert c.state == "registered" and c.events.count() == 1


def test_invalid_form_changes_nothing(register, staff):
    c = register()
    with pytest.raises(Invalid) as exc:
        engine.apply_action(
            c, staff["receiver"], "resolve_on_spot", data={"satisfaction": "ecstatic"}, version=1
        )
    assert set(exc.value.details["fields"]) == {"solution", "satisfaction"}
    with pytest.raises(Invalid) as exc:
        engine.apply_action(
            c,
            staff["receiver"],
            "resolve_on_spot",
            data={"solution": 5, "extra": 1},
            version=1,
            strict_types=True,
        )
    assert set(exc.value.details["fields"]) == {"solution", "extra"}
    c.refresh_from_db()
    assert c.state == "registered" and c.version == 1 and c.events.count() == 1


def test_an_unmet_condition_hides_the_action_and_says_why(register, act, staff):
    # A general complaint's plan does not go to the leader (F1): the complex path is not offered,
    # and trying it anyway is refused with the definition's own sentence.
    c = act(act(register(), "officer", "judge_valid"), "officer", "assign_department",
            category="quality")  # fmt: skip
    possible = names(engine.possible_actions(c, staff["handler_q"]))
    assert "propose_plan" in possible and "submit_plan_for_instruction" not in possible
    with pytest.raises(NotPossible) as exc:
        engine.apply_action(c, staff["handler_q"], "submit_plan_for_instruction",
                            data={"cause": "c", "plan": "p"}, version=c.version)  # fmt: skip
    assert "一般投诉由责任部门直接提出方案" in exc.value.message
    c.refresh_from_db()
    assert c.state == "investigating" and c.version == 3


def test_events_are_append_only(register):
    c = register()
    event = c.events.get()
    event.comment = "changed"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        Event.objects.filter(pk=event.pk).update(comment="x")
    with pytest.raises(AppendOnly):
        Event.objects.all().delete()


def test_tracking_numbers_are_unique_and_readable(register):
    numbers = [register().tracking_number for _ in range(5)]
    assert len(set(numbers)) == 5
    assert all(n.startswith("TS-") and len(n) == len("TS-20261127-0001") for n in numbers)
    assert [int(n[-4:]) for n in numbers] == list(
        range(int(numbers[0][-4:]), int(numbers[0][-4:]) + 5)
    )


def test_access_code_is_hashed_and_checkable(generic, staff):
    from tousu.cases.services import register_complaint

    c, code = register_complaint(
        process=generic, user=staff["receiver"], channel="visit", content="内容"
    )
    assert code not in c.access_code_hash
    assert c.check_access_code(code) and c.check_access_code(code.lower())
    assert not c.check_access_code("WRONG123")


def test_visibility_by_department(register, act, staff):
    mine = register()
    mine = act(mine, "officer", "judge_valid")
    mine = act(mine, "officer", "assign_department", category="quality")
    other = register()
    assert set(visible_complaints(staff["handler_q"])) == {mine}
    assert set(visible_complaints(staff["officer"])) == {mine, other}
    assert set(visible_complaints(staff["auditor"])) == {mine, other}
    with pytest.raises(Forbidden):
        complaint_for(staff["handler_t"], mine.pk)


def test_channel_and_sector_fields_are_validated(generic, staff):
    from tousu.cases.services import register_complaint

    with pytest.raises(Invalid) as exc:
        register_complaint(process=generic, user=staff["receiver"], channel="pigeon", content="x")
    assert "phone" in exc.value.message
    with pytest.raises(Invalid):
        register_complaint(
            process=generic,
            user=staff["receiver"],
            channel="phone",
            content="x",
            fields={"occurred_at": "yesterday"},
        )
    assert Complaint.objects.count() == 0 and Party.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_actions_one_wins_one_conflicts(generic, staff, register):
    c = register()
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(user, name, data):
        from django.db import connection

        try:
            mine = Complaint.objects.select_related("process").get(pk=c.pk)
            barrier.wait()
            engine.apply_action(mine, staff[user], name, data=data, version=1)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=attempt, args=("officer", "judge_valid", {})),
        threading.Thread(
            target=attempt,
            args=("receiver", "judge_invalid", {"explanation": "e", "method": "oral"}),
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    c.refresh_from_db()
    assert c.version == 2
    assert c.events.count() == 2  # created + exactly one action
