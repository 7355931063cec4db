# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The engine role's install steps for the Python engines (vLLM, SGLang), evaluated as Ansible does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLE = Path(__file__).resolve().parents[3] / "roles" / "engine"
TASKS: list[dict[str, Any]] = yaml.safe_load((ROLE / "tasks" / "install_python_engine.yml").read_text())


def task(prefix: str) -> dict[str, Any]:
    """The task of install_python_engine.yml whose name starts with ``prefix``."""
    return next(item for item in TASKS if item["name"].startswith(prefix))


def evaluate(expression: str, **variables: Any) -> Any:
    """``expression`` as a Jinja2 expression with ``variables``, the way ``when``/``that`` are."""
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template("{{ " + expression + " }}"))


@pytest.mark.parametrize(
    ("wheels", "allowed"), [({"vllm": ["vllm", "torch"]}, True), ({"vllm": []}, False), ({}, False)]
)
def test_a_python_engine_without_wheels_is_refused(wheels: dict[str, list[str]], allowed: bool) -> None:
    check = task("Refuse a Python engine without wheels")["ansible.builtin.assert"]
    assert evaluate(check["that"], engine_wheel_artifacts=wheels, __engine_python_engine="vllm") is allowed


def test_the_refusal_names_the_variable() -> None:
    check = task("Refuse a Python engine without wheels")["ansible.builtin.assert"]
    message = Templar(loader=DataLoader(), variables={"__engine_python_engine": "sglang"}).template(
        trust_as_template(check["fail_msg"])
    )
    assert str(message).startswith("engine_wheel_artifacts.sglang is empty")


def test_pip_never_reaches_an_index_and_finds_every_pushed_directory() -> None:
    pip = task("Install the engine from the pushed wheels")["ansible.builtin.pip"]
    paths = {
        "vllm": "/var/cache/sovereign/artifacts/vllm/0.11.0/vllm-0.11.0-py3-none-any.whl",
        "torch": "/var/cache/sovereign/artifacts/torch/2.8.0/torch-2.8.0-cp311-cp311-linux_x86_64.whl",
    }
    extra = Templar(loader=DataLoader(), variables={"artifacts_paths": paths}).template(
        trust_as_template(pip["extra_args"])
    )
    assert str(extra).split() == [
        "--no-index",
        "--find-links", "/var/cache/sovereign/artifacts/vllm/0.11.0",
        "--find-links", "/var/cache/sovereign/artifacts/torch/2.8.0",
    ]  # fmt: skip


def test_debian_installs_what_the_pip_module_needs() -> None:
    debian = yaml.safe_load((ROLE / "vars" / "Debian.yml").read_text())
    assert debian["__engine_venv_packages"] == ["python3-venv", "python3-packaging"]
