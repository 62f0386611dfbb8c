"""The shape of a process definition (YAML), as pydantic models.

A definition is data: states, actions between them, the roles allowed to take each action, the
form each action asks for, the clocks that run on a case, and the sector's registration fields,
departments and category → department map. Structure is checked here; graph checks live in
`validation.py`. No Django import: definitions are validated before anything touches a database.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=50)]
Label = Annotated[str, Field(min_length=1, max_length=100)]
# A condition (see conditions.py): a YAML mapping, checked with the graph in validation.py.
Condition = dict[str, Any]

FIELD_TYPES = (
    "text",  # one line
    "textarea",  # several lines
    "integer",
    "boolean",
    "choice",
    "multichoice",
    "date",
    "datetime",
    "category",  # sets the case's category (and its mapped department unless one is chosen)
    "department",  # sets the case's responsible department
    "departments",  # several departments: the first leads, each gets a task
    "users",  # staff named (e.g. inspectors): distinct persons holding the field's roles
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(Strict):
    value: Name
    label: Label


class ChannelDef(Choice):
    # Complaints on this channel start in this department (e.g. petition letters 信访件 at the
    # president's office, F8), whoever registers them.
    department: Name | None = None


class FieldDef(Strict):
    name: Name
    label: Label
    type: Literal[FIELD_TYPES]  # type: ignore[valid-type]
    # For a yes/no field: an answer, either one, must be given (not "must be yes": say that with a
    # `require` condition on the action).
    required: bool = False
    required_when: Condition | None = None  # required only when this holds
    max_length: int | None = Field(default=None, ge=1, le=20000)
    min_items: int | None = Field(default=None, ge=0, le=50)
    choices: tuple[Choice, ...] = ()
    help: str = ""
    public: bool = False  # shown to the complainant on the portal
    # Identifies a person (a patient's name, a room number, a phone number): blanked when the case's
    # retention period ends (`tousu retention run`), like the parties' names and contact data.
    personal: bool = False
    # users: whom the field may name — holders of one of these roles (read-only roles never), and
    # with same_department only staff of the case's responsible department.
    roles: tuple[Name, ...] = ()
    same_department: bool = False
    # departments: the name of a `department` field of the same form that names the lead
    # department, chosen explicitly (never the first in a list).
    lead: Name | None = None
    # A registration field that is also a party's detail: `respondent` (投诉对象: the respondent
    # party's name) or `relation` (投诉人与患者关系: the complainant's relation). The registration
    # form then asks it once, in the flow's own words, and the party is recorded from it.
    party: Literal["respondent", "relation"] | None = None

    @property
    def effective_max_length(self) -> int:
        return self.max_length or (200 if self.type == "text" else 5000)


class ChecklistItem(Strict):
    name: Name
    label: Label
    hint: str = ""


class RoleDef(Strict):
    """A role a flow names beyond the system's (F11: 跟单员, 跟单组长 …). Not departmental."""

    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=20)]
    label: Annotated[str, Field(min_length=1, max_length=20)]


class Notify(Strict):
    """Tell the holders of these roles at once (F17: the person involved reports to the department
    head and medical affairs). Departmental roles: those of the case's department."""

    roles: tuple[Name, ...] = Field(min_length=1)
    text: Annotated[str, Field(min_length=1, max_length=200)]
    when: Condition | None = None


class RegistrationDef(Strict):
    # Who may register. A departmental role registering starts the case in its own department and
    # records it as first-received there (首诉负责制, F15/F18).
    roles: tuple[Name, ...] = ("receiver", "officer")
    notify: tuple[Notify, ...] = ()


class DepartmentDef(Strict):
    code: Name
    label: Label
    parent: Name | None = None


class CategoryDef(Strict):
    code: Name
    label: Label
    department: Name | None = None


class StateDef(Strict):
    name: Name
    label: Label
    initial: bool = False
    final: bool = False
    closed: bool = False  # the matter is concluded (结案); final states are closed too
    description: str = ""


class TaskEffect(Strict):
    # open: "case_department" opens a task for the case's responsible department;
    #       "form_departments" opens one per department chosen in the form.
    open: Literal["case_department", "form_departments"] | None = None
    # close: "own" closes the acting user's department's task; "all" closes every open task.
    close: Literal["own", "all"] | None = None
    kind: Label = "处理"
    # Tasks opened together form a group a join can wait for ({tasks_done: group}).
    group: Name | None = None


class SetEffect(Strict):
    complexity: Literal["general", "complex"] | None = None
    severity: Literal["normal", "serious", "critical"] | None = None
    flags_add: tuple[Name, ...] = ()
    flags_remove: tuple[Name, ...] = ()


class ActionDef(Strict):
    name: Name
    label: Label
    source: tuple[Name, ...] = Field(alias="from", min_length=1)
    to: Name | None = None  # None: the case stays in its state (a note, an extra record)
    roles: tuple[Name, ...] = Field(min_length=1)
    form: tuple[FieldDef, ...] = ()
    # Offered only when this holds (the case and the actor; not the form); `unmet` is said to
    # whoever tries anyway.
    when: Condition | None = None
    unmet: str = ""
    # Checked when applied (may read the form); each condition carries its message.
    require: tuple[Condition, ...] = ()
    tasks: TaskEffect = TaskEffect()
    set: SetEffect = SetEffect()
    visibility: Literal["internal", "public"] = "internal"
    public_label: str = ""  # what the complainant sees on the portal timeline
    description: str = ""
    document: Name | None = None  # official document this action issues (Portal issue)
    document_when: Condition | None = None  # issued only when this holds (a written notice …)
    # Dissatisfaction and the like: a new round starts (conditions about events look at it).
    reopen: bool = False
    notify: tuple[Notify, ...] = ()
    # A routine action (a note, an optional record) does not make a case wait for anyone: it is
    # left out of the to-do, the leader's inbox and "waiting for me" counts.
    routine: bool = False

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("source")
    @classmethod
    def _no_duplicate_sources(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(v)) != len(v):
            raise ValueError("from 中有重复的状态")
        return v


class ClockDef(Strict):
    name: Name
    label: Label
    # A deadline owed to the complainant (答复时限), shown on the portal; the others (a department's
    # internal 派工单 period, a 督办 clock) are the office's business and stay on the staff pages.
    public: bool = False
    basis: str = Field(min_length=1, max_length=500)
    unit: Literal["hours", "calendar_days", "working_days", "working_hours"]
    amount: float | None = Field(default=None, gt=0, le=10000)
    # Actions that start it, "created" for registration, "reopened" for any reopening action.
    start: tuple[Name, ...] = Field(min_length=1)
    start_when: Condition | None = None  # starts only when this holds (written channel only …)
    # The moment it counts from: "received" (the complaint's receipt), "action" (when the starting
    # action was taken), or a date/datetime field: "fields.NAME" (registration) or "form.NAME" (the
    # starting action's form). Default: "received" for "created", else "action".
    counts_from: str = Field(default="", alias="from", max_length=60)
    # A due date given by a field instead of an amount (a deadline set by a person: "继续沟通，
    # 约定新的期限"); the period ends at the end of that day.
    until: str = Field(default="", max_length=60)
    stop: tuple[Name, ...] = Field(min_length=1)
    pause: tuple[Name, ...] = ()
    resume: tuple[Name, ...] = ()
    warn_before: float | None = Field(default=None, gt=0, le=10000)  # in the clock's unit
    extension_roles: tuple[Name, ...] = ()
    max_extension: float = Field(default=0, ge=0, le=10000)
    on_breach: tuple[Literal["flag", "notify", "escalate"], ...] = ("flag", "notify")
    notify_roles: tuple[Name, ...] = ("officer",)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def origin(self, starting: str) -> str:
        """What the clock counts from when `starting` (an action, created or reopened) starts it."""
        return self.counts_from or ("received" if starting == "created" else "action")

    def origin_at(self, starting: str, *, received_at, action_at, fields, form):
        """The moment the clock counts from: the receipt, the action, or a date on a form (a
        written complaint's date, the day mediation was accepted). None when the field is empty."""
        from .conditions import as_moment

        where = self.origin(starting)
        if where == "received":
            return received_at
        if where == "action":
            return action_at
        prefix, _, name = where.partition(".")
        return as_moment((fields if prefix == "fields" else form or {}).get(name))


ProcessName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=50)]


class ProcessDef(Strict):
    name: ProcessName  # the template's file name, e.g. tourism-authority
    version: int = Field(ge=1, le=2**31 - 1)  # what the database's version column holds
    label: Label
    flows: tuple[str, ...] = ()
    description: str = ""
    allow_anonymous: bool = False
    channels: tuple[ChannelDef, ...] = ()
    roles: tuple[RoleDef, ...] = ()
    registration: RegistrationDef = RegistrationDef()
    checklist: tuple[ChecklistItem, ...] = ()
    fields: tuple[FieldDef, ...] = ()
    departments: tuple[DepartmentDef, ...] = ()
    categories: tuple[CategoryDef, ...] = ()
    states: tuple[StateDef, ...] = Field(min_length=2)
    actions: tuple[ActionDef, ...] = Field(min_length=1)
    clocks: tuple[ClockDef, ...] = ()
    # How long a closed case keeps its personal data, in calendar days from closing; then
    # `tousu retention run` anonymises it and keeps the statistics. No rule we found fixes a period
    # for complaint records (reference/regulations.md: "make it configurable"), so each template
    # states its own; three years is the Civil Code's general limitation period (民法典 第一百八十八条).
    retention_days: int = Field(default=1095, gt=0, le=36500)
    demo_texts: tuple[str, ...] = ()  # sample complaint texts for `tousu init --demo`

    # Lookups used by the engine; built once per definition.
    def state(self, name: str) -> StateDef:
        return next(s for s in self.states if s.name == name)

    def action(self, name: str) -> ActionDef | None:
        return next((a for a in self.actions if a.name == name), None)

    @property
    def initial_state(self) -> StateDef:
        return next(s for s in self.states if s.initial)

    @property
    def final_states(self) -> frozenset[str]:
        return frozenset(s.name for s in self.states if s.final)

    @property
    def closed_states(self) -> frozenset[str]:
        return frozenset(s.name for s in self.states if s.final or s.closed)

    def actions_from(self, state: str) -> list[ActionDef]:
        final = state in self.final_states
        return [a for a in self.actions if state in a.source or ("any" in a.source and not final)]

    def channel(self, value: str) -> ChannelDef | None:
        return next((c for c in self.channels if c.value == value), None)

    def clock(self, name: str) -> ClockDef | None:
        return next((c for c in self.clocks if c.name == name), None)

    def category(self, code: str) -> CategoryDef | None:
        return next((c for c in self.categories if c.code == code), None)

    def state_label(self, name: str) -> str:
        return next((s.label for s in self.states if s.name == name), name)
