"""Parsed view of the Terraform in infrastructure/ for structural tests (python-hcl2, no terraform binary).

A `TfModule` merges every .tf file of one directory. `Scope` resolves the small arithmetic that the
tests need (`var.*`, `local.*`, numbers, + - * /, min/max) through module calls, from variable
defaults overlaid with a tfvars file, so invariants such as "visibility timeout >= 6 x function
timeout" are checked on the values Terraform would really use.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

INFRA = Path(__file__).resolve().parents[2] / "infrastructure"
OPTIONS = SerializationOptions(strip_string_quotes=True, with_comments=False, explicit_blocks=False)
REFERENCE = re.compile(r"\b(var|local)\.([A-Za-z_][A-Za-z0-9_]*)")


def parse_file(path: Path) -> dict[str, Any]:
    return hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=OPTIONS)


@dataclass(frozen=True)
class TfModule:
    path: Path
    blocks: dict[str, list[Any]] = field(hash=False)

    @property
    def name(self) -> str:
        return self.path.relative_to(INFRA).as_posix() or "."

    def _labelled(self, kind: str, type_name: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for block in self.blocks.get(kind, []):
            for name, body in block.get(type_name, {}).items():
                found[name] = body
        return found

    def resources(self, type_name: str) -> dict[str, dict[str, Any]]:
        return self._labelled("resource", type_name)

    def data(self, type_name: str) -> dict[str, dict[str, Any]]:
        return self._labelled("data", type_name)

    def all_resources(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for block in self.blocks.get("resource", []):
            for type_name, named in block.items():
                for name, body in named.items():
                    yield type_name, name, body

    def named(self, kind: str) -> dict[str, dict[str, Any]]:
        """variable / output / module blocks by name."""
        found: dict[str, dict[str, Any]] = {}
        for block in self.blocks.get(kind, []):
            found.update(block)
        return found

    @property
    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for block in self.blocks.get("locals", []):
            merged.update(block)
        return merged

    def terraform_blocks(self) -> list[dict[str, Any]]:
        return list(self.blocks.get("terraform", []))


@cache
def load(directory: str = ".") -> TfModule:
    path = (INFRA / directory).resolve()
    blocks: dict[str, list[Any]] = {}
    for tf in sorted(path.glob("*.tf")):
        for kind, items in parse_file(tf).items():
            blocks.setdefault(kind, []).extend(items if isinstance(items, list) else [items])
    assert blocks, f"no Terraform in {path}"
    return TfModule(path, blocks)


def module_dirs() -> list[str]:
    dirs = {tf.parent for tf in INFRA.rglob("*.tf") if ".terraform" not in tf.parts}
    return sorted(d.relative_to(INFRA).as_posix() or "." for d in dirs)


def all_modules() -> list[TfModule]:
    return [load(d) for d in module_dirs()]


def tf_files() -> list[Path]:
    return sorted(p for p in INFRA.rglob("*.tf") if ".terraform" not in p.parts)


def tfvars(env: str) -> dict[str, Any]:
    return parse_file(INFRA / "envs" / f"{env}.tfvars")


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The single nested block `name` of a resource body (hcl2 gives a list of one)."""
    items = as_list(body.get(name))
    assert len(items) == 1, f"expected one {name} block, got {len(items)}"
    item = items[0]
    assert isinstance(item, dict)
    return item


def reference(expr: Any) -> str:
    """`${module.x.y}` -> `module.x.y` (only for a bare reference)."""
    assert isinstance(expr, str) and expr.startswith("${") and expr.endswith("}"), expr
    return expr[2:-1].strip()


# ------------------------------------------------------------------------------------------------
# A tiny evaluator for numeric expressions
# ------------------------------------------------------------------------------------------------
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {"max": max, "min": min, "floor": lambda x: int(x // 1)}


def _eval_node(node: ast.AST) -> Any:
    if isinstance(node, ast.Expression):
        return _eval_node(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str | bool):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_eval_node(node.left), _eval_node(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval_node(node.operand)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        return _FUNCTIONS[node.func.id](*(_eval_node(arg) for arg in node.args))
    raise ValueError(f"unsupported expression: {ast.dump(node)}")


class Scope:
    """Values of var.* and local.* inside one module instance."""

    def __init__(self, module: TfModule, inputs: dict[str, Callable[[], Any]]) -> None:
        self.module = module
        self.inputs = inputs

    @classmethod
    def root(cls, env: str | None) -> Scope:
        values = tfvars(env) if env else {}
        return cls(load("."), {name: (lambda v=value: v) for name, value in values.items()})

    def child(self, call_name: str) -> Scope:
        call = self.module.named("module")[call_name]
        source = call["source"]
        module = load((self.module.path / source).resolve().relative_to(INFRA).as_posix())
        inputs = {arg: (lambda e=expr: self.evaluate(e)) for arg, expr in call.items()}
        return Scope(module, inputs)

    def var(self, name: str) -> Any:
        if name in self.inputs:
            return self.inputs[name]()
        variable = self.module.named("variable")[name]
        assert "default" in variable, f"{self.module.name}: var.{name} has no default and no value"
        return self.evaluate(variable["default"])

    def local(self, name: str) -> Any:
        return self.evaluate(self.module.locals[name])

    def evaluate(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if not (value.startswith("${") and value.endswith("}")):
            return value
        expr = value[2:-1].strip()
        if m := re.fullmatch(r"(var|local)\.([A-Za-z_][A-Za-z0-9_]*)", expr):
            return self.var(m.group(2)) if m.group(1) == "var" else self.local(m.group(2))

        def substitute(match: re.Match[str]) -> str:
            kind, name = match.groups()
            return repr(self.var(name) if kind == "var" else self.local(name))

        return _eval_node(ast.parse(REFERENCE.sub(substitute, expr), mode="eval"))


def hcl_string_literals(expr: str, function: str) -> list[str]:
    """String arguments of `function("...")` calls in an expression, HCL escapes undone."""
    raw = re.findall(rf'{function}\("((?:[^"\\]|\\.)*)"', expr)
    return [re.sub(r"\\(.)", r"\1", literal) for literal in raw]
