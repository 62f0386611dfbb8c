"""Duplicates and repeats (same phone or ID, near-identical text in the window), linking and
merging with both event logs kept."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tousu.cases.errors import Conflict, Forbidden, Invalid
from tousu.cases.models import AppendOnly, Complaint, Event
from tousu.triage import selectors, services
from tousu.triage.models import CaseLink, TextPrint

pytestmark = pytest.mark.django_db

TEXT = "我母亲住院期间护士给她输错了液体，输了半瓶才发现，事后也没有人来解释，请医院给个说法"


def test_repeat_from_the_same_phone_is_offered_for_linking(hospital):
    first = hospital.register(TEXT, phone="13911112222")
    found = selectors.find_duplicates(
        "hospital", "再次投诉：" + TEXT + "！！", phone="139-1111-2222"
    )
    assert [d.id for d in found] == [first.pk]
    d = found[0]
    assert d.same_complainant and d.reasons == ["phone", "text"]
    assert d.reason_labels == ["同一电话", "内容相近"] and d.similarity > 0.8
    assert d.tracking_number == first.tracking_number and d.state_label


def test_a_registered_case_finds_its_earlier_twin(hospital):
    first = hospital.register(TEXT, phone="13911112222")
    second = hospital.register(TEXT, phone="13911112222")
    found = selectors.duplicates_of(second)
    assert [(d.id, d.reasons) for d in found] == [(first.pk, ["phone", "text"])]
    assert selectors.repeat_count(phone="13911112222") == 2
    assert selectors.repeat_count(phone="13911112222", exclude_id=second.pk) == 1


def test_same_text_from_someone_else_and_same_person_on_another_matter(hospital):
    other_person = hospital.register(TEXT, phone="13700000000")
    other_matter = hospital.register("门诊挂号排队两个小时，叫号系统还乱跳", phone="13911112222")
    found = {d.id: d for d in selectors.find_duplicates("hospital", TEXT, phone="13911112222")}
    assert (
        found[other_person.pk].reasons == ["text"] and not found[other_person.pk].same_complainant
    )
    assert found[other_matter.pk].reasons == ["phone"] and found[other_matter.pk].same_complainant
    assert found[other_matter.pk].similarity < 0.2
    # The same person and the same text first.
    both = hospital.register(TEXT, phone="13911112222")
    assert selectors.find_duplicates("hospital", TEXT, phone="13911112222")[0].id == both.pk


def test_id_number_matches_whatever_case_it_was_typed_in(hospital):
    c = hospital.register("医生态度差", phone=None, id_number="11010519491231002x")
    found = selectors.find_duplicates("hospital", "别的事", id_number="11010519491231002X")
    assert [(d.id, d.reasons) for d in found] == [(c.pk, ["id_number"])]
    assert selectors.repeat_count(id_number="11010519491231002X") == 1


def test_window_and_short_texts(hospital, settings):
    old = hospital.register(
        TEXT, phone="13911112222", received_at=timezone.now() - timedelta(days=200)
    )
    assert selectors.find_duplicates("hospital", TEXT, phone="13911112222") == []
    assert [d.id for d in selectors.find_duplicates("hospital", TEXT, window=365)] == [old.pk]
    settings.TOUSU_TRIAGE_WINDOW_DAYS = 365
    assert [d.id for d in selectors.find_duplicates("hospital", TEXT)] == [old.pk]
    assert selectors.repeat_count(phone="13911112222") == 1  # repeats count all time
    hospital.register("投诉", phone="13800000000")
    assert selectors.find_duplicates("hospital", "投诉") == []  # too short to compare


def test_every_registration_is_fingerprinted_and_reindex_fills_gaps(hospital):
    c = hospital.register(TEXT)
    assert TextPrint.objects.filter(complaint=c).exists()
    TextPrint.objects.all().delete()
    assert services.reindex("hospital") == 1
    assert selectors.find_duplicates("hospital", TEXT)[0].id == c.pk


def test_link_writes_an_event_on_both_cases(hospital):
    a, b = hospital.register(TEXT), hospital.register(TEXT)
    services.link(a, b, hospital.users["receiver"], "同一事项")
    for this, other in ((a, b), (b, a)):
        e = this.events.get(action="linked")
        assert e.payload["other"] == other.pk and other.tracking_number in e.label
        assert e.actor == hospital.users["receiver"] and e.comment == "同一事项"
    assert [v.other_id for v in selectors.links_of(a)] == [b.pk]
    assert selectors.find_duplicates("hospital", TEXT, exclude_id=a.pk)[0].link == "related"
    with pytest.raises(Conflict, match="已关联"):
        services.link(b, a, hospital.users["officer"])
    with pytest.raises(Forbidden, match="接待员"):
        services.link(a, b, hospital.users["auditor"])
    with pytest.raises(Invalid, match="自己"):
        services.link(a, a, hospital.users["officer"])
    services.unlink(a, b, hospital.users["officer"])
    assert selectors.links_of(a) == [] and a.events.filter(action="unlinked").exists()


def test_merging_keeps_both_event_logs(hospital):
    from tousu.clocks.models import Clock

    primary = hospital.register(TEXT, phone="13911112222")
    duplicate = hospital.register("又一次：" + TEXT, phone="13911112222")
    hospital.act(duplicate, "officer", "office_register", category="nursing_quality", situation="x")
    own_before = {
        c.pk: list(c.events.order_by("id").values_list("pk", "action"))
        for c in (primary, duplicate)
    }
    assert len(own_before[duplicate.pk]) == 2
    services.merge(primary, duplicate, hospital.users["officer"], "重复投诉")

    # Nothing of either log is lost or rewritten; each gains the events naming the other: the
    # merge, and the duplicate closed through the engine (cases/engine.close_by_system).
    for c, actions in (
        (primary, ["merged_in", "related_closed"]),
        (duplicate, ["merged_into", "closed_by_system"]),
    ):
        after = list(c.events.order_by("id").values_list("pk", "action"))
        assert after[: len(own_before[c.pk])] == own_before[c.pk]
        assert [a for _, a in after[len(own_before[c.pk]) :]] == actions
    # The primary shows both logs, each event still belonging to its own case.
    combined = selectors.events_with_merged(primary)
    new = ["merged_in", "merged_into", "closed_by_system", "related_closed"]
    assert {e.pk for e in combined} == {pk for log in own_before.values() for pk, _ in log} | set(
        Event.objects.filter(action__in=new).values_list("pk", flat=True)
    )
    assert {e.complaint_id for e in combined} == {primary.pk, duplicate.pk}
    assert [e.created_at for e in combined] == sorted(e.created_at for e in combined)

    dup = Complaint.objects.get(pk=duplicate.pk)
    assert "merged" in dup.flags and dup.version == duplicate.version + 2
    assert dup.state == "closed" and dup.closed_at is not None
    closing = dup.events.get(action="closed_by_system")
    assert closing.to_state == "closed" and primary.tracking_number in closing.label
    assert primary.events.get(action="related_closed").payload["other"] == dup.pk
    assert not dup.tasks.filter(state="open").exists()
    from tousu.reports.models import CaseFact

    assert CaseFact.objects.get(complaint_id=dup.pk).closed_day is not None
    assert not Clock.objects.filter(complaint=dup).exclude(state=Clock.STOPPED).exists()
    assert dup.events.get(action="merged_into").payload["primary"] == primary.pk
    assert [v.kind for v in selectors.links_of(primary)] == ["merged_in"]
    assert [v.kind for v in selectors.links_of(dup)] == ["merged_into"]
    with pytest.raises(AppendOnly):
        dup.events.all().delete()


def test_merge_rules(hospital):
    a, b, c = (hospital.register(TEXT) for _ in range(3))
    with pytest.raises(Forbidden, match="投诉专员、领导"):
        services.merge(a, b, hospital.users["receiver"])
    services.link(a, b, hospital.users["receiver"])
    services.merge(a, b, hospital.users["officer"])  # a link becomes a merge
    assert list(CaseLink.objects.values_list("kind", flat=True)) == ["merged"]
    with pytest.raises(Conflict, match="已并入"):
        services.merge(c, b, hospital.users["officer"])
    with pytest.raises(Invalid, match="已并入其他投诉"):
        services.merge(b, c, hospital.users["officer"])
    with pytest.raises(Invalid, match="作为主投诉"):
        services.merge(c, a, hospital.users["leader"])


def test_merge_carries_the_more_serious_severity_to_the_primary(hospital):
    primary = hospital.register(TEXT)
    duplicate = hospital.register("我们已经请了律师准备起诉：" + TEXT)
    assert Complaint.objects.get(pk=duplicate.pk).severity == "serious"
    services.merge(primary, duplicate, hospital.users["leader"])
    assert Complaint.objects.get(pk=primary.pk).severity == "serious"
