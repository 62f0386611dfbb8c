"""Named file storages (settings.STORAGES) that follow a change of settings.

A model's FileField evaluates its storage once, when the model class is built; a LazyObject looks
the alias up on first use and again after STORAGES changes (Django's test overrides), so documents
and reports land where the current settings say, as attachments do through default_storage."""

from __future__ import annotations

from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.utils.functional import LazyObject, empty

_instances: list[NamedStorage] = []


class NamedStorage(LazyObject):
    def __init__(self, alias: str):
        super().__init__()
        self.__dict__["_alias"] = alias
        _instances.append(self)

    def _setup(self):
        self._wrapped = storages[self.__dict__["_alias"]]


def _reset(*, setting, **kwargs):
    if setting == "STORAGES":
        for item in _instances:
            item._wrapped = empty


setting_changed.connect(_reset)

documents = NamedStorage("documents")
reports = NamedStorage("reports")
