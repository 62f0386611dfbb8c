"""Writes: training and activating models, the registration hook (fingerprint, risk flags,
collective complaints: waves.py), recording staff choices, linking and merging cases.

    train(process_name, *, user=None, with_samples=True, with_cases=True, activate=True) -> TriageModel
    activate(process_name, version) -> TriageModel
    link(a, b, user, note="") -> CaseLink
    unlink(a, b, user) -> None
    merge(primary, duplicate, user, note="") -> CaseLink
"""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
import time
from collections import Counter

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max
from django.utils import timezone

from tousu.accounts.models import User
from tousu.accounts.roles import ROLES
from tousu.cases.engine import close_by_system
from tousu.cases.errors import Conflict, Forbidden, Invalid, NotFound
from tousu.cases.models import Complaint, Event
from tousu.cases.privacy import CaseMask
from tousu.clocks.models import Clock, Notification
from tousu.reports.facts import refresh as refresh_facts

from . import fingerprint, selectors
from .models import CaseLink, Choice, TextPrint, TriageModel, Wave
from .risk import SEVERITY_RANK, RiskFlag, risk_flags, severity_of

log = logging.getLogger("tousu.triage")

LINK_ROLES = ("receiver", "officer", "leader")
MERGE_ROLES = ("officer", "leader")
ALERT_ROLES = ("leader",)


class TrainingError(Invalid):
    pass


# --- models ----------------------------------------------------------------------------------------


def train(
    process_name: str,
    *,
    user: User | None = None,
    with_samples: bool = True,
    with_cases: bool = True,
    activate: bool = True,
) -> TriageModel:
    """Train a new version of the flow's classifier from the shipped samples and the
    organisation's labelled cases, store it, and (by default) put it in use."""
    import joblib
    import sklearn

    # Imported here: scikit-learn costs ~2 s at start-up, and only training needs it.
    from .classifier import TextClassifier, TooLittleData

    if not selectors.category_map(process_name):
        raise TrainingError(f"流程「{process_name}」没有启用的投诉类别，无法训练")
    data = selectors.training_data(process_name, with_samples=with_samples, with_cases=with_cases)
    started = time.perf_counter()
    try:
        clf = TextClassifier.fit(data.texts, data.labels, data.weights)
    except TooLittleData as exc:
        raise TrainingError(
            f"流程「{process_name}」的训练数据不足（样本 {data.n_samples} 条，本单位案例 "
            f"{data.n_cases} 条）：{exc}"
        ) from None
    seconds = time.perf_counter() - started
    buffer = io.BytesIO()
    joblib.dump(clf, buffer, compress=3)
    blob = buffer.getvalue()
    sha = hashlib.sha256(blob).hexdigest()
    relative = f"{process_name}/{timezone.now():%Y%m%d-%H%M%S}-{secrets.token_hex(4)}.joblib"
    path = selectors.models_dir() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(blob)
    tmp.replace(path)  # a reader never sees half a file
    counts = Counter(data.labels)
    with transaction.atomic():
        latest = TriageModel.objects.filter(process_name=process_name).aggregate(v=Max("version"))
        if activate:
            TriageModel.objects.filter(process_name=process_name, is_active=True).update(
                is_active=False
            )
        row = TriageModel.objects.create(
            process_name=process_name,
            version=(latest["v"] or 0) + 1,
            file=relative,
            sha256=sha,
            algorithm=clf.algorithm,
            sklearn_version=sklearn.__version__,
            classes=clf.classes,
            left_out={
                **data.unknown,  # not active categories of the flow
                **{label: n for label, n in counts.items() if label not in clf.classes},
            },
            n_samples=data.n_samples,
            n_cases=data.n_cases,
            seconds=round(seconds, 2),
            metrics={
                "examples_per_category": {c: counts[c] for c in clf.classes},
                "file_bytes": len(blob),
            },
            is_active=activate,
            created_by=user,
        )
    selectors.forget_loaded()
    return row


@transaction.atomic
def activate(process_name: str, version: int) -> TriageModel:
    """Put an earlier (or later) version back in use."""
    row = TriageModel.objects.filter(process_name=process_name, version=version).first()
    if row is None:
        versions = list(
            TriageModel.objects.filter(process_name=process_name).values_list("version", flat=True)
        )
        raise NotFound(
            f"流程「{process_name}」没有版本 {version} 的模型；现有版本："
            f"{'、'.join(map(str, versions)) or '无'}"
        )
    TriageModel.objects.filter(process_name=process_name, is_active=True).update(is_active=False)
    TriageModel.objects.filter(pk=row.pk).update(is_active=True)
    row.is_active = True
    selectors.forget_loaded()
    return row


# --- registration hook ---------------------------------------------------------------------------


def record_print(complaint: Complaint) -> list[int] | None:
    """Store the case's fingerprint and return its band keys; None when its text is too short to
    compare.

    Plain SQL: this runs inside every registration's write lock, where compiling an ORM statement
    costs more than the insert itself."""
    keys = fingerprint.band_keys(complaint.content, complaint.process.name)
    # A text too short to compare still gets a row (zeros), so `reindex` never looks at it again.
    table = TextPrint._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (complaint_id, received_at, {', '.join(TextPrint.BANDS)}) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [
                complaint.pk,
                connection.ops.adapt_datetimefield_value(complaint.received_at),
                *(keys or [0] * len(TextPrint.BANDS)),
            ],
        )
    return keys


def check_collective(complaint: Complaint, keys: list[int] | None = None) -> Wave | None:
    """Run after the registration commits (the look-up reads candidate texts, which must not
    happen while the database's write lock is held): the case joins or starts a wave of collective
    complaints (triage/waves.py). Writes only when a wave is found."""
    from . import waves

    return waves.check(complaint, keys)


def on_registered(complaint: Complaint, event: Event, parties=None) -> list[RiskFlag]:
    """Runs inside the registration transaction, so it stays cheap: fingerprint the text, record a
    staff-chosen category, raise risk flags read from the text (writing to the case row only when
    one is found). The collective check runs after commit (`check_collective`)."""
    if complaint.category_id and event.actor_id:
        Choice.objects.create(
            complaint_id=complaint.pk,
            process_name=complaint.process.name,
            category=complaint.category.code,
            department=complaint.department.code if complaint.department_id else "",
            source="registration",
            chosen_by_id=event.actor_id,
            created_at=event.created_at,
        )
    flags = risk_flags(f"{complaint.content}\n{complaint.request}")
    keys = record_print(complaint)
    # Also without a fingerprint (a short text): a joint complaint or the same respondent is enough.
    transaction.on_commit(lambda: check_collective(complaint, keys), robust=True)
    if flags:
        raise_flags(complaint, flags)
    return flags


def raise_flags(complaint: Complaint, flags: list[RiskFlag], *, notify: bool = True) -> None:
    """Mark the case (flags, severity), log an event, and tell leadership at once."""
    codes = [f.code for f in flags]
    new_flags = complaint.flags + [c for c in codes if c not in complaint.flags]
    severity = severity_of(flags, complaint.severity)
    Complaint.objects.filter(pk=complaint.pk).update(flags=new_flags, severity=severity)
    complaint.flags, complaint.severity = new_flags, severity
    labels = "、".join(f.label for f in flags)
    terms = "；".join(f"{f.label}：{'、'.join(f.terms)}" for f in flags)
    Event.objects.create(
        complaint_id=complaint.pk,
        action="risk_flagged",
        label=f"风险提示：{labels}",
        from_state=complaint.state,
        to_state=complaint.state,
        actor_name="系统",
        via="system",
        payload={"flags": codes, "terms": {f.code: f.terms for f in flags}, "severity": severity},
        comment=f"命中：{terms}",
    )
    if not notify:
        return

    # The alert leaves by e-mail: the title's personal data masked (cases/privacy.py).
    title = CaseMask.for_case(complaint, events=[]).text(complaint.title[:30])
    notify_leaders(
        complaint,
        f"{complaint.tracking_number}「{title}」风险提示：{labels}（{terms}）",
    )


def notify_leaders(complaint: Complaint, message: str) -> int:
    from .tasks import send_risk_alert_emails

    users = list(User.objects.filter(is_active=True, roles__code__in=ALERT_ROLES).distinct())
    Notification.objects.bulk_create(
        Notification(user=u, complaint_id=complaint.pk, kind="triage.risk", message=message[:300])
        for u in users
    )
    emails = [u.email for u in users if u.email]
    if emails:
        transaction.on_commit(lambda: send_risk_alert_emails.enqueue(emails, message))
    return len(users)


def on_action(complaint: Complaint, action, event: Event, user) -> Choice | None:
    """Record a category chosen in an action's form (the staff's correction to learn from)."""
    field_names = [f.name for f in action.form if f.type == "category"]
    chosen = next((event.payload[n] for n in field_names if event.payload.get(n)), None)
    if not chosen or not isinstance(user, User):
        return None
    department = complaint.department.code if complaint.department_id else ""
    from .routing import note_action_choice

    note_action_choice(complaint, chosen, user)
    return Choice.objects.create(
        complaint_id=complaint.pk,
        process_name=complaint.process.name,
        category=chosen,
        department=department,
        source=action.name,
        chosen_by=user,
        created_at=event.created_at,
    )


def reindex(process_name: str | None = None, *, batch: int = 2000) -> int:
    """Fingerprint the cases that have none (registered before triage was installed)."""
    done = 0
    qs = Complaint.objects.exclude(pk__in=TextPrint.objects.values("complaint_id"))
    if process_name:
        qs = qs.filter(process__name=process_name)
    while True:
        rows = list(
            qs.order_by("pk").values_list("pk", "process__name", "content", "received_at")[:batch]
        )
        if not rows:
            return done
        prints = []
        for pk, name, content, received in rows:
            keys = fingerprint.band_keys(content, name)
            # A text too short to compare still gets a row, so it is not looked at again.
            keys = keys or [0, 0, 0, 0]
            prints.append(
                TextPrint(
                    complaint_id=pk,
                    received_at=received,
                    **dict(zip(TextPrint.BANDS, keys, strict=True)),
                )
            )
        TextPrint.objects.bulk_create(prints, ignore_conflicts=True)
        done += len(prints)


# --- linking and merging -------------------------------------------------------------------------


def _check_role(user, roles, what: str) -> None:
    if not isinstance(user, User) or not user.has_role(*roles):
        allowed = "、".join(ROLES.get(r, r) for r in roles)
        raise Forbidden(f"只有{allowed}可以{what}")


def _event(complaint: Complaint, action: str, label: str, user: User, payload: dict, note: str):
    return Event.objects.create(
        complaint=complaint,
        action=action,
        label=label,
        from_state=complaint.state,
        to_state=complaint.state,
        actor=user,
        actor_name=str(user),
        via="web",
        payload=payload,
        comment=note,
    )


def _pair(a: Complaint | int, b: Complaint | int) -> tuple[Complaint, Complaint]:
    ids = [x.pk if isinstance(x, Complaint) else int(x) for x in (a, b)]
    if ids[0] == ids[1]:
        raise Invalid("不能把一件投诉与它自己关联或合并")
    rows = {
        c.pk: c
        for c in Complaint.objects.select_for_update().select_related("process").filter(pk__in=ids)
    }
    missing = [str(i) for i in ids if i not in rows]
    if missing:
        raise NotFound(f"投诉 {'、'.join(missing)} 不存在")
    return rows[ids[0]], rows[ids[1]]


@transaction.atomic
def link(a: Complaint | int, b: Complaint | int, user: User, note: str = "") -> CaseLink:
    """Link two cases about the same matter; both stay open and each gets an event."""
    _check_role(user, LINK_ROLES, "关联投诉")
    first, second = _pair(a, b)
    low, high = sorted((first, second), key=lambda c: c.pk)
    existing = CaseLink.objects.filter(source__in=(low, high), target__in=(low, high)).first()
    if existing:
        what = "已关联" if existing.kind == CaseLink.RELATED else "已合并"
        raise Conflict(f"投诉 {low.tracking_number} 与 {high.tracking_number} {what}")
    row = CaseLink.objects.create(
        source=low, target=high, kind=CaseLink.RELATED, note=note[:200], created_by=user
    )
    for this, other in ((low, high), (high, low)):
        _event(
            this,
            "linked",
            f"关联投诉 {other.tracking_number}",
            user,
            {"other": other.pk, "other_number": other.tracking_number},
            note,
        )
    return row


@transaction.atomic
def unlink(a: Complaint | int, b: Complaint | int, user: User, note: str = "") -> None:
    _check_role(user, LINK_ROLES, "取消关联")
    first, second = _pair(a, b)
    row = CaseLink.objects.filter(
        source__in=(first, second), target__in=(first, second), kind=CaseLink.RELATED
    ).first()
    if row is None:
        raise NotFound(f"投诉 {first.tracking_number} 与 {second.tracking_number} 没有关联")
    row.delete()
    for this, other in ((first, second), (second, first)):
        _event(
            this,
            "unlinked",
            f"取消关联 {other.tracking_number}",
            user,
            {"other": other.pk, "other_number": other.tracking_number},
            note,
        )


@transaction.atomic
def merge(
    primary: Complaint | int, duplicate: Complaint | int, user: User, note: str = ""
) -> CaseLink:
    """Merge `duplicate` into `primary`: the matter is handled on the primary from now on.

    Nothing is deleted or rewritten: both cases keep their own event logs, each gets an event
    naming the other, the duplicate is flagged `merged` and its running clocks stop (its deadline
    is now the primary's), and the primary's page can show both logs (`events_with_merged`)."""
    _check_role(user, MERGE_ROLES, "合并投诉")
    main, dup = _pair(primary, duplicate)
    if selectors.merged_into(main.pk):
        raise Invalid(f"投诉 {main.tracking_number} 本身已并入其他投诉，请合并到那一件")
    if target := selectors.merged_into(dup.pk):
        number = Complaint.objects.filter(pk=target).values_list("tracking_number", flat=True)[0]
        raise Conflict(f"投诉 {dup.tracking_number} 已并入 {number}")
    if CaseLink.objects.filter(target=dup, kind=CaseLink.MERGED).exists():
        raise Invalid(
            f"已有其他投诉并入 {dup.tracking_number}；请把 {dup.tracking_number} 作为主投诉"
        )
    CaseLink.objects.filter(source__in=(main, dup), target__in=(main, dup)).delete()
    try:
        with transaction.atomic():
            row = CaseLink.objects.create(
                source=dup, target=main, kind=CaseLink.MERGED, note=note[:200], created_by=user
            )
    except IntegrityError:
        raise Conflict(f"投诉 {dup.tracking_number} 已被合并") from None

    now = timezone.now()
    running = list(
        Clock.objects.filter(complaint=dup)
        .exclude(state=Clock.STOPPED)
        .values_list("name", flat=True)
    )
    Clock.objects.filter(complaint=dup).exclude(state=Clock.STOPPED).update(
        state=Clock.STOPPED, stopped_at=now
    )
    flags = dup.flags + ([] if "merged" in dup.flags else ["merged"])
    Complaint.objects.filter(pk=dup.pk).update(
        flags=flags, version=F("version") + 1, updated_at=now
    )
    dup.flags, dup.version = flags, dup.version + 1
    _event(
        main,
        "merged_in",
        f"并入投诉 {dup.tracking_number}",
        user,
        {"duplicate": dup.pk, "duplicate_number": dup.tracking_number},
        note,
    )
    _event(
        dup,
        "merged_into",
        f"已并入投诉 {main.tracking_number}",
        user,
        {"primary": main.pk, "primary_number": main.tracking_number, "clocks_stopped": running},
        note,
    )
    # The duplicate's matter is handled on the primary: the engine closes it, with an event on
    # both cases (cases/engine.close_by_system), and recomputes its statistics facts.
    if (
        close_by_system(dup, reason=f"已并入投诉 {main.tracking_number}", user=user, related=main)
        is None
    ):
        refresh_facts(dup)  # already closed: its clocks were stopped by a bulk update all the same
    # The primary carries the more serious of the two, so leadership sees it there.
    if SEVERITY_RANK.get(dup.severity, 0) > SEVERITY_RANK.get(main.severity, 0):
        Complaint.objects.filter(pk=main.pk).update(severity=dup.severity)
        main.severity = dup.severity
    return row
