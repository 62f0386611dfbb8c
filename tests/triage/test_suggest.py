"""Suggestions at registration, staff choices recorded, retraining in the corrected direction,
model versions."""

import pytest

from tousu.triage import selectors, services
from tousu.triage.models import Choice, TriageModel

pytestmark = pytest.mark.django_db


def test_cold_start_uses_keyword_rules_and_explains(hospital):
    s = selectors.suggest("hospital", "出院结算发现多收了两次检查费，要求退费")
    assert s is not None and s.source == "keywords" and s.model_version is None
    assert (s.category, s.department) == ("charges", "finance")
    assert s.department_label and s.category_label == "医疗收费"
    assert s.explanation.startswith("命中关键词：") and "多收" in s.explanation


def test_no_suggestion_when_nothing_is_known(hospital):
    assert selectors.suggest("hospital", "你好，我想问一下") is None
    assert selectors.rank("hospital", "你好，我想问一下").source == "none"
    assert selectors.suggest("not-installed", "多收费") is None


def test_trained_model_suggests_category_department_and_alternatives(hospital, trained):
    row = trained("hospital")
    s = selectors.suggest("hospital", "护士给我扎了四次针都没扎进去，手背全青了")
    assert s.source == "model" and s.model_version == row.version
    assert (s.category, s.department) == ("nursing_quality", "nursing")
    assert 0.5 <= s.confidence <= 1
    assert s.alternatives and all(a.confidence < s.confidence for a in s.alternatives)
    assert len({a.category for a in s.alternatives} | {s.category}) == len(s.alternatives) + 1
    assert "模型依据" in s.explanation or "命中关键词" in s.explanation


def test_low_confidence_gives_no_suggestion_but_a_ranking(hospital, trained, settings):
    trained("hospital")
    text = "停车场收费太贵"
    ranking = selectors.rank("hospital", text)
    settings.TOUSU_TRIAGE_MIN_CONFIDENCE = ranking.top.confidence + 0.01
    assert selectors.suggest("hospital", text) is None
    settings.TOUSU_TRIAGE_MIN_CONFIDENCE = ranking.top.confidence - 0.01
    assert selectors.suggest("hospital", text).category == ranking.top.category


def test_a_remapped_department_is_followed(hospital, trained):
    from tousu.accounts.models import Department
    from tousu.processes.models import Category

    trained("hospital")
    office = Department.objects.get(code="president_office")
    Category.objects.filter(process_name="hospital", code="charges").update(department=office)
    selectors.category_map.cache_clear()
    s = selectors.suggest("hospital", "出院结算发现重复收费")
    assert (s.category, s.department) == ("charges", "president_office")


def test_staff_choices_are_recorded_at_registration_and_in_actions(hospital):
    c = hospital.register("病房空调坏了", category="logistics_environment")
    first = Choice.objects.get(complaint=c)
    assert (first.category, first.department, first.source) == (
        "logistics_environment",
        "general_affairs",
        "registration",
    )
    assert first.chosen_by == hospital.users["receiver"]
    portal = hospital.register("病房空调坏了", by=None)  # the complainant, not staff
    assert not Choice.objects.filter(complaint=portal).exists()
    c = hospital.act(
        c, "officer", "office_register", category="hospital_management", situation="已核实"
    )
    latest = Choice.objects.filter(complaint=c).first()
    assert (latest.category, latest.source, latest.chosen_by.username) == (
        "hospital_management",
        "office_register",
        "officer",
    )


CORRECTED = [
    "陪护床每晚收费三十元，太贵了",
    "租陪护床还要交两百块押金",
    "陪护床数量不够，晚上家属只能睡地上",
    "陪护床的租金为什么要一天一结",
    "病房里的陪护床又脏又破，还要收钱",
    "陪护床只能租医院指定公司的",
]


def test_retraining_after_staff_corrections_changes_later_suggestions(hospital):
    probe = "陪护床一晚上要三十块，还不给开收据"
    before = services.train("hospital")
    ranked = dict((a.category, a.confidence) for a in selectors.rank("hospital", probe).items)
    assert max(ranked, key=ranked.get) != "hospital_management"
    # Staff register these cases and, in the office, correct whatever was chosen first.
    for text in CORRECTED:
        c = hospital.register(text, category="charges")
        hospital.act(
            c, "officer", "office_register", category="hospital_management", situation="院方规定"
        )
    assert selectors.learned_cases("hospital").count() == len(CORRECTED)
    after = services.train("hospital")
    assert (after.version, after.n_cases) == (before.version + 1, len(CORRECTED))
    assert after.n_samples == before.n_samples == 1180
    now = selectors.rank("hospital", probe)
    assert now.model_version == after.version
    assert now.top.category == "hospital_management"
    assert now.top.confidence > ranked["hospital_management"]
    # Unrelated texts keep their category.
    assert selectors.suggest("hospital", "护士扎了四次针都没扎进去").category == "nursing_quality"


def test_closed_cases_are_learned_from_open_unchosen_ones_are_not(hospital):
    from django.utils import timezone

    from tousu.cases.models import Complaint
    from tousu.processes.models import Category

    a = hospital.register("陪护床太贵", by=None)  # portal: no staff choice
    b = hospital.register("陪护床太破", by=None)
    cat = Category.objects.get(process_name="hospital", code="hospital_management")
    Complaint.objects.filter(pk__in=[a.pk, b.pk]).update(category=cat)
    Complaint.objects.filter(pk=a.pk).update(closed_at=timezone.now())
    assert list(selectors.learned_cases("hospital").values_list("pk", flat=True)) == [a.pk]
    data = selectors.training_data("hospital")
    assert data.n_cases == 1 and data.weights[-1] == selectors.CASE_WEIGHT


def test_versions_activation_and_rollback(hospital, trained):
    first = trained("hospital")
    second = services.train("hospital", with_cases=False)
    assert second.version == first.version + 1
    assert list(TriageModel.objects.filter(is_active=True)) == [second]
    assert selectors.rank("hospital", "多收费").model_version == second.version
    services.activate("hospital", first.version)
    assert selectors.active_model("hospital") == first
    assert selectors.rank("hospital", "多收费").model_version == first.version
    with pytest.raises(services.NotFound, match="现有版本"):
        services.activate("hospital", 99)


def test_a_tampered_model_file_is_refused_and_keywords_take_over(hospital):
    row = services.train("hospital", with_cases=False)
    path = selectors.models_dir() / row.file
    path.write_bytes(path.read_bytes() + b"x")
    selectors.forget_loaded()
    s = selectors.suggest("hospital", "出院结算发现多收了两次检查费")
    assert s.source == "keywords" and s.category == "charges"


def test_training_without_enough_data_is_a_clear_error(install):
    install("generic")
    with pytest.raises(services.TrainingError, match="训练数据不足"):
        services.train("generic")
