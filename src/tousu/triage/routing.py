"""Routing by itself: writes.

    auto_route(complaint, event) -> Event | None        (from the registration signal)
    set_threshold(process_name, threshold, user, retrain_after=None) -> RoutingSetting
    undo(complaint, user, note="") -> Event             (staff: take the automatic routing back)
    correct(complaint, user, category, note="") -> Event (staff: another category)
    retrain_if_better(process_name) -> RetrainOutcome

A portal or API complaint gets the category the model ranks first, and that category's
department, when the model's confidence reaches the threshold the administrator set for the flow
(none by default: off). The case's log shows it as 自动分派 with the confidence. Staff may undo it
or correct it; each time a Correction row is kept and, once enough have accumulated since the model
in use was trained, the worker retrains: the new model is put in use only if it does not evaluate
worse than the one in use on the cases neither of them was trained on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tousu.accounts.models import User
from tousu.cases.errors import Conflict, Forbidden, Invalid
from tousu.cases.models import Complaint, Event
from tousu.processes.models import Category

from . import selectors
from .models import Choice, Correction, RoutingSetting, TriageModel

log = logging.getLogger("tousu.triage")

AUTO_VIA = ("portal", "api")  # staff registering a case choose the category themselves
CORRECT_ROLES = ("receiver", "officer", "leader")
AUTO_ACTION, UNDO_ACTION, CORRECT_ACTION = "auto_routed", "auto_route_undone", "category_corrected"
MIN_EVALUATION = 10  # unseen labelled cases needed before a retrained model can be judged
NOTIFY_ROLES = ("admin",)


# --- the administrator's setting -----------------------------------------------------------------


def set_threshold(
    process_name: str,
    threshold: float | None,
    user: User | None = None,
    *,
    retrain_after: int | None = None,
) -> RoutingSetting:
    if threshold is not None and not 0 < threshold <= 1:
        raise Invalid("自动分派阈值必须大于 0 且不超过 1（如 0.8）；留空表示关闭")
    if retrain_after is not None and retrain_after < 0:
        raise Invalid("重新训练所需的更正条数不能为负数；0 表示不自动重新训练")
    if not selectors.category_map(process_name):
        raise Invalid(f"流程「{process_name}」没有启用的投诉类别，不能自动分派")
    row, _ = RoutingSetting.objects.get_or_create(process_name=process_name)
    row.threshold = threshold
    if retrain_after is not None:
        row.retrain_after = retrain_after
    row.updated_at, row.updated_by = timezone.now(), user
    row.save()
    selectors.routing_setting.cache_clear()
    return row


# --- at registration -----------------------------------------------------------------------------


def auto_route(complaint: Complaint, event: Event) -> Event | None:
    """Apply the model's category and department to a portal or API complaint that has none,
    when its confidence reaches the flow's threshold. Runs inside the registration transaction,
    before the statistics and webhooks hear of the case, so they see the routed case."""
    if event.via not in AUTO_VIA or complaint.category_id:
        return None
    process_name = complaint.process.name
    setting = selectors.routing_setting(process_name)
    if setting is None or setting.threshold is None:
        return None
    ranking = selectors.rank(process_name, f"{complaint.title}\n{complaint.content}")
    top = ranking.top
    # Only a trained model routes: keyword rules are a hint for a person, not a decision.
    if ranking.source != "model" or top is None or top.confidence < setting.threshold:
        return None
    category = (
        Category.objects.filter(process_name=process_name, code=top.category, is_active=True)
        .select_related("department")
        .first()
    )
    if category is None:
        return None
    before = {"category": None, "department": complaint.department_id}
    # A department the flow's own rules gave the case at registration (a channel's office) stays.
    department_id = complaint.department_id or category.department_id
    Complaint.objects.filter(pk=complaint.pk).update(category=category, department_id=department_id)
    complaint.category, complaint.department_id = category, department_id
    label = f"自动分派：{category.label}"
    if category.department and department_id == category.department_id:
        label += f" → {category.department}"
    routed = Event.objects.create(
        complaint_id=complaint.pk,
        action=AUTO_ACTION,
        label=f"{label}（置信度 {top.confidence:.2f}）"[:100],
        from_state=complaint.state,
        to_state=complaint.state,
        actor_name="系统",
        via="system",
        payload={
            "category": category.code,
            "department": category.department.code if category.department else "",
            "confidence": round(top.confidence, 4),
            "threshold": setting.threshold,
            "model_version": ranking.model_version,
            "before": before,
            "terms": ranking.terms[:5],
        },
        comment=ranking.explanation,
        created_at=event.created_at,
    )
    if department_id:
        _tell_department(complaint, routed, f"{category.label}，置信度 {top.confidence:.2f}")
    return routed


def _tell_department(complaint: Complaint, event: Event, what: str) -> None:
    from tousu.accounts.roles import DEPARTMENTAL_ROLES
    from tousu.messaging.outbox import notify_staff, users_with_roles

    notify_staff(
        users_with_roles(sorted(DEPARTMENTAL_ROLES), complaint.department_id),
        kind="assigned.auto",
        text=f"{complaint.tracking_number} 已自动分派到本部门（{what}）",
        complaint=complaint,
        key=f"e{event.pk}",
    )


# --- staff taking it back ------------------------------------------------------------------------


def routing_in_force(complaint: Complaint) -> Event | None:
    """The 自动分派 event whose category the case still has, or None."""
    try:
        return _routed_event(complaint)
    except Conflict:
        return None


def _routed_event(complaint: Complaint) -> Event:
    """The automatic routing still in force on the case, or a clear refusal."""
    last = (
        Event.objects.filter(
            complaint_id=complaint.pk, action__in=(AUTO_ACTION, UNDO_ACTION, CORRECT_ACTION)
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if last is None or last.action != AUTO_ACTION:
        raise Conflict(f"投诉 {complaint.tracking_number} 没有仍然有效的自动分派")
    current = complaint.category.code if complaint.category_id else None
    if current != last.payload.get("category"):
        raise Conflict(f"投诉 {complaint.tracking_number} 的类别已由工作人员更改，自动分派不再有效")
    return last


def note_action_choice(complaint: Complaint, chosen: str, user: User) -> Correction | None:
    """A category a member of staff chose in an action's form, on a case the system had routed
    to another category: a correction too, kept and counted like one."""
    last = (
        Event.objects.filter(
            complaint_id=complaint.pk, action__in=(AUTO_ACTION, UNDO_ACTION, CORRECT_ACTION)
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if last is None or last.action != AUTO_ACTION or last.payload.get("category") == chosen:
        return None
    if Correction.objects.filter(
        complaint_id=complaint.pk, created_at__gte=last.created_at
    ).exists():
        return None  # the first change of the system's choice is the correction
    row = Correction.objects.create(
        complaint_id=complaint.pk,
        process_name=complaint.process.name,
        predicted=last.payload.get("category") or "",
        confidence=last.payload.get("confidence") or 0.0,
        model_version=last.payload.get("model_version"),
        corrected=chosen,
        corrected_by=user,
    )
    _maybe_retrain(complaint.process.name)
    return row


def _check(user) -> None:
    if not isinstance(user, User) or not user.has_role(*CORRECT_ROLES):
        from tousu.accounts.roles import ROLES

        allowed = "、".join(ROLES.get(r, r) for r in CORRECT_ROLES)
        raise Forbidden(f"只有{allowed}可以撤销或更正自动分派")


def _locked(complaint: Complaint | int) -> Complaint:
    pk = complaint.pk if isinstance(complaint, Complaint) else int(complaint)
    case = Complaint.objects.select_for_update().select_related("process").get(pk=pk)
    if case.closed_at is not None:
        raise Conflict(f"投诉 {case.tracking_number} 已结案，不能再更改类别")
    return case


def _change(
    case: Complaint,
    routed: Event,
    user: User,
    *,
    category: Category | None,
    department_id: int | None,
    action: str,
    label: str,
    note: str,
) -> Event:
    now = timezone.now()
    Complaint.objects.filter(pk=case.pk).update(
        category=category, department_id=department_id, version=F("version") + 1, updated_at=now
    )
    case.category, case.department_id = category, department_id
    case.version += 1
    payload = dict(routed.payload)
    event = Event.objects.create(
        complaint=case,
        action=action,
        label=label[:100],
        from_state=case.state,
        to_state=case.state,
        actor=user,
        actor_name=str(user),
        via="web",
        payload={
            "routed_event": routed.pk,
            "predicted": payload.get("category"),
            "confidence": payload.get("confidence"),
            "category": category.code if category else None,
        },
        comment=note,
        created_at=now,
    )
    Correction.objects.create(
        complaint=case,
        process_name=case.process.name,
        predicted=payload.get("category") or "",
        confidence=payload.get("confidence") or 0.0,
        model_version=payload.get("model_version"),
        corrected=category.code if category else "",
        corrected_by=user,
        created_at=now,
    )
    if category is not None:  # a person's choice: the organisation's own label to learn from
        Choice.objects.create(
            complaint=case,
            process_name=case.process.name,
            category=category.code,
            department=category.department.code if category.department else "",
            source=action,
            chosen_by=user,
            created_at=now,
        )
    from tousu.reports.facts import refresh as refresh_facts

    refresh_facts(case)  # category and department are in the statistics
    _maybe_retrain(case.process.name)
    return event


@transaction.atomic
def undo(complaint: Complaint | int, user: User, note: str = "") -> Event:
    """Take the automatic routing back: the case has no category again, and the department it had
    before (none, or the one the flow's rules gave it)."""
    _check(user)
    case = _locked(complaint)
    routed = _routed_event(case)
    before = routed.payload.get("before") or {}
    return _change(
        case,
        routed,
        user,
        category=None,
        department_id=before.get("department"),
        action=UNDO_ACTION,
        label=f"撤销自动分派（原为{routed.label.removeprefix('自动分派：')}）",
        note=note,
    )


@transaction.atomic
def correct(complaint: Complaint | int, user: User, category: str, note: str = "") -> Event:
    """Replace the category the system chose with the right one (and its department)."""
    _check(user)
    case = _locked(complaint)
    routed = _routed_event(case)
    chosen = (
        Category.objects.filter(process_name=case.process.name, code=category, is_active=True)
        .select_related("department")
        .first()
    )
    if chosen is None:
        codes = "、".join(selectors.category_map(case.process.name))
        raise Invalid(f"投诉类别「{category}」无效；允许：{codes}")
    if chosen.pk == case.category_id:
        raise Invalid(f"类别已是「{chosen.label}」；如自动分派有误，请选择另一个类别或撤销")
    before = routed.payload.get("before") or {}
    department_id = before.get("department") or chosen.department_id
    routed_to = case.department_id
    event = _change(
        case,
        routed,
        user,
        category=chosen,
        department_id=department_id,
        action=CORRECT_ACTION,
        label=f"更正自动分派：{chosen.label}"
        + (f" → {chosen.department}" if chosen.department else ""),
        note=note,
    )
    if department_id and department_id != routed_to:
        _tell_department(case, event, f"更正为{chosen.label}")
    return event


# --- retraining ----------------------------------------------------------------------------------


def corrections_since_model(process_name: str) -> int:
    row = selectors.active_model(process_name)
    qs = Correction.objects.filter(process_name=process_name)
    if row is not None:
        qs = qs.filter(created_at__gt=row.created_at)
    return qs.count()


def _maybe_retrain(process_name: str) -> None:
    setting = RoutingSetting.objects.filter(process_name=process_name).first()
    after = (
        setting.retrain_after
        if setting
        else RoutingSetting._meta.get_field("retrain_after").default
    )
    count = corrections_since_model(process_name)
    # Every `after` corrections: a retraining makes a new model row, which starts the count
    # again; one that could not run yet (too few unseen cases) is tried again `after` later.
    if not after or count < after or count % after:
        return
    from .tasks import retrain_from_corrections

    transaction.on_commit(lambda: retrain_from_corrections.enqueue(process_name))


@dataclass
class RetrainOutcome:
    activated: bool
    reason: str
    row: TriageModel | None = None
    candidate_f1: float | None = None
    current_f1: float | None = None
    n_eval: int = 0


def _unseen_split(process_name: str, since):
    """The organisation's labelled cases, split into those the model in use could have learned
    from (labelled before it was trained) and those it could not (labelled, corrected or closed
    after): the second are where the two models are compared."""
    cases = selectors.learned_cases(process_name)
    if since is None:
        return list(cases.values_list("content", "category__code")), []
    later = set(
        Choice.objects.filter(process_name=process_name, created_at__gt=since).values_list(
            "complaint_id", flat=True
        )
    )
    seen, unseen = [], []
    for pk, text, label, closed in cases.values_list(
        "pk", "content", "category__code", "closed_at"
    ).iterator(chunk_size=2000):
        (unseen if pk in later or (closed and closed > since) else seen).append((text, label))
    return seen, unseen


def retrain_if_better(process_name: str, *, user: User | None = None) -> RetrainOutcome:
    """Retrain from the samples and every labelled case; put the new model in use unless it
    evaluates worse than the model in use.

    The comparison is fair to both: a candidate is trained on what the model in use could have
    seen, and both are scored (macro-F1) on the cases labelled since, which neither saw. If it is
    not worse, the model trained on everything is activated; if it is, that model is kept as an
    inactive version (tousu triage activate can still put it in use) and the administrators are
    told."""
    from . import classifier, services

    current_row, current = selectors.classifier_for(process_name)
    since = current_row.created_at if current_row else None
    seen, unseen = _unseen_split(process_name, since)
    if current is not None and len(unseen) < MIN_EVALUATION:
        return RetrainOutcome(
            False,
            f"自上次训练以来只有 {len(unseen)} 件新标注的案例，不足 {MIN_EVALUATION} 件，暂不重新训练",
        )
    candidate_f1 = current_f1 = None
    worse = False
    if current is not None:
        data = selectors.samples(process_name)
        active = set(selectors.category_map(process_name))
        rows = [(t, c) for t, c in zip(data.texts, data.categories, strict=True) if c in active]
        texts = [t for t, _ in rows] + [t for t, _ in seen]
        labels = [c for _, c in rows] + [c for _, c in seen]
        weights = [1.0] * len(rows) + [selectors.CASE_WEIGHT] * len(seen)
        try:
            candidate = classifier.TextClassifier.fit(texts, labels, weights)
        except classifier.TooLittleData as exc:
            return RetrainOutcome(False, f"训练数据不足：{exc}")
        truth = [c for _, c in unseen]
        probe = [t for t, _ in unseen]
        candidate_f1 = classifier.score(truth, candidate.predict(probe)[0]).macro_f1
        current_f1 = classifier.score(truth, current.predict(probe)[0]).macro_f1
        worse = candidate_f1 < current_f1
    row = services.train(process_name, user=user, activate=not worse)
    gate = {
        "unseen_cases": len(unseen),
        "candidate_macro_f1": candidate_f1,
        "previous_version": current_row.version if current_row else None,
        "previous_macro_f1": current_f1,
        "activated": not worse,
    }
    TriageModel.objects.filter(pk=row.pk).update(metrics={**row.metrics, "retrain_gate": gate})
    row.metrics = {**row.metrics, "retrain_gate": gate}
    if worse:
        reason = (
            f"新模型 v{row.version} 在 {len(unseen)} 件新标注案例上宏平均 F1 {candidate_f1:.3f}，"
            f"低于使用中的 v{current_row.version}（{current_f1:.3f}），未启用"
        )
    elif current is not None:
        reason = (
            f"新模型 v{row.version} 已启用：在 {len(unseen)} 件新标注案例上宏平均 F1 "
            f"{candidate_f1:.3f}，使用中的 v{current_row.version} 为 {current_f1:.3f}"
        )
    else:
        reason = f"新模型 v{row.version} 已启用（此前没有使用中的模型）"
    _tell_administrators(process_name, reason)
    return RetrainOutcome(not worse, reason, row, candidate_f1, current_f1, len(unseen))


def _tell_administrators(process_name: str, reason: str) -> None:
    from tousu.messaging.outbox import notify_staff

    users = User.objects.filter(
        Q(roles__code__in=NOTIFY_ROLES) | Q(is_superuser=True), is_active=True
    ).distinct()
    notify_staff(users, kind="triage.retrain", text=f"流程「{process_name}」自动重新训练：{reason}")
