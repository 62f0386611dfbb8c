"""The shape of a process definition (YAML), as pydantic models.

A definition is data: states, actions between them, the roles allowed to take each action, the
form each action asks for, the clocks that run on a case, and the sector's registration fields,
departments and category → department map. Structure is checked here; graph checks live in
`validation.py`. No Django import: definitions are validated before anything touches a database.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=50)]
Label = Annotated[str, Field(min_length=1, max_length=100)]

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
    "users",  # staff assigned (e.g. inspectors)
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(Strict):
    value: Name
    label: Label


class FieldDef(Strict):
    name: Name
    label: Label
    type: Literal[FIELD_TYPES]  # type: ignore[valid-type]
    required: bool = False
    max_length: int | None = Field(default=None, ge=1, le=20000)
    min_items: int | None = Field(default=None, ge=0, le=50)
    choices: tuple[Choice, ...] = ()
    help: str = ""
    public: bool = False  # shown to the complainant on the portal
    # Identifies a person (a patient's name, a room number, a phone number): blanked when the case's
    # retention period ends (`tousu retention run`), like the parties' names and contact data.
    personal: bool = False

    @property
    def effective_max_length(self) -> int:
        return self.max_length or (200 if self.type == "text" else 5000)


class ChecklistItem(Strict):
    name: Name
    label: Label
    hint: str = ""


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


class GuardDef(Strict):
    name: Name
    args: dict[str, str | int | bool | list[str]] = {}


class TaskEffect(Strict):
    # open: "case_department" opens a task for the case's responsible department;
    #       "form_departments" opens one per department chosen in the form.
    open: Literal["case_department", "form_departments"] | None = None
    # close: "own" closes the acting user's department's task; "all" closes every open task.
    close: Literal["own", "all"] | None = None
    kind: Label = "处理"


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
    guards: tuple[GuardDef, ...] = ()
    tasks: TaskEffect = TaskEffect()
    set: SetEffect = SetEffect()
    visibility: Literal["internal", "public"] = "internal"
    public_label: str = ""  # what the complainant sees on the portal timeline
    description: str = ""
    document: Name | None = None  # official document this action issues (Portal issue)
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
    basis: str = Field(min_length=1, max_length=500)
    unit: Literal["hours", "calendar_days", "working_days", "working_hours"]
    amount: float = Field(gt=0, le=10000)
    start: tuple[Name, ...] = Field(min_length=1)  # actions, or "created" for registration
    stop: tuple[Name, ...] = Field(min_length=1)
    pause: tuple[Name, ...] = ()
    resume: tuple[Name, ...] = ()
    warn_before: float | None = Field(default=None, gt=0, le=10000)  # in the clock's unit
    extension_roles: tuple[Name, ...] = ()
    max_extension: float = Field(default=0, ge=0, le=10000)
    on_breach: tuple[Literal["flag", "notify", "escalate"], ...] = ("flag", "notify")
    notify_roles: tuple[Name, ...] = ("officer",)


ProcessName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=50)]


class ProcessDef(Strict):
    name: ProcessName  # the template's file name, e.g. tourism-authority
    version: int = Field(ge=1, le=2**31 - 1)  # what the database's version column holds
    label: Label
    flows: tuple[str, ...] = ()
    description: str = ""
    allow_anonymous: bool = False
    channels: tuple[Choice, ...] = ()
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

    def category(self, code: str) -> CategoryDef | None:
        return next((c for c in self.categories if c.code == code), None)

    def state_label(self, name: str) -> str:
        return next((s.label for s in self.states if s.name == name), name)
