"""What each figure counts, read from the flow definitions rather than from action names.

The rules are generic, so a new or edited template is analysed without code changes:

- **verdict** (满意度): an action whose form has a field named `satisfaction` records its value
  (satisfied / basically_satisfied / dissatisfied); an action that adds the flag `reopened` (the
  definition's "dissatisfied → handle again" rule) is a dissatisfied verdict. The first verdict
  counts: how the first answer was received (一次满意率); the later ones follow further handling
  and are nearly always satisfied, which would hide what the first answer lacked.
- **reopen** (不满意重办): an action that adds the flag `reopened`.
- **follow-up visit** (回访): a verdict action, or an action whose label contains 回访.
- **external route** (外部途径): an action with a form field named `route` or `routes`; its outcome is
  the field `outcome` of a later action.
- **corrective action verification** (纠正预防措施验证): an action only a `verifier` (QA) may take;
  failed when it adds a flag whose name contains "fail", verified otherwise.
- **respondent** (被投诉方): the first respondent party, else the latest `respondent_name` in an
  action's form, else the first sector field named in RESPONDENT_FIELDS.
- **collective complaint** (集体投诉): at least N complainants, counted as complainant parties or the
  sector field `complainant_count`; N is 5 (信访 practice) unless EXPLICIT says otherwise.

EXPLICIT holds the few per-template facts no definition states.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tousu.processes.definition import ProcessDef

from .models import BASICALLY_SATISFIED, DISSATISFIED, SATISFIED

SATISFACTION_CODES = {
    "satisfied": SATISFIED,
    "very_satisfied": SATISFIED,
    "basically_satisfied": BASICALLY_SATISFIED,
    "dissatisfied": DISSATISFIED,
    "not_satisfied": DISSATISFIED,
    "unsatisfied": DISSATISFIED,
}
REOPEN_FLAG = "reopened"
VERIFIER_ROLE = "verifier"
ROUTE_FIELDS = ("route", "routes")
OUTCOME_FIELD = "outcome"
RESPONDENT_FIELDS = (
    "respondent_name",
    "reported_party",
    "target",
    "involved_department",
    "product",
    "customer_company",
)
COLLECTIVE_FIELD = "complainant_count"
# A case imported from a register (tousu.registers) records the register's 满意度 on its import
# event under this action: the verdict counts like one given in the flow.
IMPORTED_ACTION = "imported"
DEFAULT_COLLECTIVE_THRESHOLD = 5

# Facts of a sector that its definition does not state.
EXPLICIT: dict[str, dict] = {
    # 《旅游投诉处理办法》第十条: 4 or more complainants on the same matter make a joint complaint.
    "tourism-authority": {"collective_threshold": 4},
    "tourism-company": {"collective_threshold": 4},
}


@dataclass(frozen=True)
class Rules:
    verdict_fields: dict[str, str] = field(default_factory=dict)  # action → satisfaction field
    dissatisfied: frozenset[str] = frozenset()
    reopen: frozenset[str] = frozenset()
    follow_up: frozenset[str] = frozenset()
    routes: dict[str, str] = field(default_factory=dict)  # action → route field
    route_labels: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)  # action → outcome field
    outcome_labels: dict[str, str] = field(default_factory=dict)
    capa_verified: frozenset[str] = frozenset()
    capa_failed: frozenset[str] = frozenset()
    respondent_actions: frozenset[str] = frozenset()  # actions whose form names the respondent
    closed_states: frozenset[str] = frozenset()
    collective_threshold: int = DEFAULT_COLLECTIVE_THRESHOLD

    @property
    def has_verdicts(self) -> bool:
        """The flow itself asks for verdicts (an imported register's 满意度 does not count)."""
        return bool(set(self.verdict_fields) - {IMPORTED_ACTION} or self.dissatisfied)


def derive(definition: ProcessDef) -> Rules:
    verdict_fields, dissatisfied, reopen, follow_up = {}, set(), set(), set()
    routes, route_labels, outcomes, outcome_labels = {}, {}, {}, {}
    capa_verified, capa_failed, respondent_actions = set(), set(), set()
    for a in definition.actions:
        fields = {f.name: f for f in a.form}
        if "satisfaction" in fields:
            verdict_fields[a.name] = "satisfaction"
            follow_up.add(a.name)
        if REOPEN_FLAG in a.set.flags_add:
            reopen.add(a.name)
            dissatisfied.add(a.name)
            follow_up.add(a.name)
        if "回访" in a.label:
            follow_up.add(a.name)
        for name in ROUTE_FIELDS:
            if name in fields:
                routes[a.name] = name
                route_labels.update({c.value: c.label for c in fields[name].choices})
                break
        if OUTCOME_FIELD in fields and fields[OUTCOME_FIELD].choices:
            outcomes[a.name] = OUTCOME_FIELD
            outcome_labels.update({c.value: c.label for c in fields[OUTCOME_FIELD].choices})
        if set(a.roles) == {VERIFIER_ROLE}:
            if any("fail" in f for f in a.set.flags_add):
                capa_failed.add(a.name)
            else:
                capa_verified.add(a.name)
        if "respondent_name" in fields:
            respondent_actions.add(a.name)
    verdict_fields.setdefault(IMPORTED_ACTION, "satisfaction")
    explicit = EXPLICIT.get(definition.name, {})
    return Rules(
        verdict_fields=verdict_fields,
        dissatisfied=frozenset(dissatisfied),
        reopen=frozenset(reopen),
        follow_up=frozenset(follow_up),
        routes=routes,
        route_labels=route_labels,
        outcomes=outcomes,
        outcome_labels=outcome_labels,
        capa_verified=frozenset(explicit.get("capa_verified", capa_verified)),
        capa_failed=frozenset(explicit.get("capa_failed", capa_failed)),
        respondent_actions=frozenset(respondent_actions),
        closed_states=definition.closed_states,
        collective_threshold=explicit.get("collective_threshold", DEFAULT_COLLECTIVE_THRESHOLD),
    )


_RULES: dict[tuple[int, str], Rules] = {}


def rules_for(process) -> Rules:
    """Rules of a ProcessDefinition row, derived once per version (a version never changes)."""
    key = (process.pk, process.checksum)
    rules = _RULES.get(key)
    if rules is None:
        rules = _RULES[key] = derive(process.definition)
    return rules
