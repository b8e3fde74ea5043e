"""No repr shows a secret (issue #13: ``SocketRequest``'s repr showed the socket token)."""

from __future__ import annotations

import importlib
import pkgutil
import re

import attrs
import pytest

import openclaw_exec
from openclaw_exec.audit import AuditLog
from openclaw_exec.pairing import AuthConfig
from openclaw_exec.policy import SocketConfig
from openclaw_exec.protocol import SocketPrompt, SocketRequest

SECRET_NAME = re.compile(r"^(?:.*_)?(?:token|password|secret|private_key(?:_bytes)?)$")


def _attrs_classes() -> list[type]:
    found: list[type] = []
    for info in pkgutil.walk_packages(openclaw_exec.__path__, "openclaw_exec."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        found.extend(
            obj
            for obj in vars(module).values()
            if isinstance(obj, type) and attrs.has(obj) and obj.__module__ == module.__name__
        )
    return found


def _secret_fields() -> list[tuple[str, str]]:
    out = []
    for cls in _attrs_classes():
        for field in attrs.fields(cls):
            kind = str(field.type)
            if SECRET_NAME.match(field.name) and ("str" in kind or "bytes" in kind):
                out.append((f"{cls.__module__}.{cls.__qualname__}", field.name))
    return out


def test_the_walk_finds_the_known_secrets() -> None:
    names = {f"{c.rsplit('.', 1)[1]}.{f}" for c, f in _secret_fields()}
    assert {"SocketRequest.token", "SocketConfig.token", "AuthConfig.password"} <= names


@pytest.mark.parametrize(("cls", "field"), _secret_fields())
def test_secret_fields_are_left_out_of_repr(cls: str, field: str) -> None:
    module, _, name = cls.rpartition(".")
    target = getattr(importlib.import_module(module), name)
    assert not attrs.fields_dict(target)[field].repr, f"{cls}.{field} shows in repr"


def test_instances_do_not_show_their_secrets() -> None:
    secret = "S3CRET-do-not-print"
    prompt = SocketPrompt(command="ls")
    shown = [
        repr(SocketRequest(token=secret, id="a1", request=prompt)),
        repr(SocketConfig(path="/s.sock", token=secret)),
        repr(AuthConfig(mode="token", token=secret)),
        repr(AuthConfig(mode="password", password=secret)),
        repr(AuditLog("/tmp/audit.jsonl", key=secret.encode() * 2)),
    ]
    assert all(secret not in text for text in shown), shown
