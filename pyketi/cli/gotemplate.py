"""A subset of Go's ``text/template`` for ``topology info --template``.

heketi-cli runs a user's Go template over its topology structs; this module
runs the same templates over the server's JSON.  Go field names map to JSON
keys (``.ClusterList`` -> ``clusters``, ``.DevicesInfo`` -> ``devices``,
``.NodeId`` -> ``node``; otherwise the lower-cased name), and a field the
server omits when empty reads as Go's zero value.

Supported: text and ``{{pipeline}}`` actions with ``{{-``/``-}}`` trimming,
comments, ``if``/``else if``/``else``, ``range`` (lists and maps, with
``$i, $v :=`` and ``else``), ``with``, ``define``/``template``, variables
(``$``, ``$x :=``), pipes, parentheses, string/number/bool literals, and the
functions ``and or not len index eq ne lt le gt ge print printf println``
plus heketi-cli's ``join kibToGib entryStateString``.  Pure logic, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pyketi.cli.output import go, state_text


class TemplateError(Exception):
    """The template does not parse, or fails while running."""


# Go field -> JSON key where they differ by more than case (heketi pkg/glusterfs/api)
JSON_KEYS = {
    "ClusterList": "clusters", "ClusterId": "cluster", "DevicesInfo": "devices",
    "NodeId": "node", "DeviceId": "device", "VolumeId": "volume", "PvUUID": "pv_uuid",
    "GlusterFS": "glusterfs", "MountPoint": "device", "BlockInfo": "blockinfo",
    "FreeSize": "freesize", "ReservedSize": "reservedsize", "BlockVolumes": "blockvolume",
    "GlusterVolumeOptions": "glustervolumeoptions",
}
# zero values of fields the server leaves out when empty
ZERO: dict[str, Any] = {
    "Tags": {}, "Paths": [], "PvUUID": "", "Gid": 0, "Block": False,
    "GlusterVolumeOptions": [], "Options": {}, "Restriction": "", "BlockVolumes": [],
    "FreeSize": 0, "ReservedSize": 0, "Replicate": {}, "Disperse": {}, "Replica": 0,
    "Data": 0, "Redundancy": 0, "Enable": False, "Factor": 0,
}

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN = re.compile(r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*"|`[^`]*`)
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)
  | (?P<decl>:=)
  | (?P<punct>[|(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
)""", re.VERBOSE)
_VERB = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")


# -- parsing -------------------------------------------------------------------

@dataclass
class Node:
    kind: str                      # text | action | if | range | with | template
    text: str = ""
    pipe: list[Any] = field(default_factory=list)
    decl: list[str] = field(default_factory=list)
    body: list[Node] = field(default_factory=list)
    other: list[Node] = field(default_factory=list)  # else branch
    name: str = ""


def _tokens(src: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    src = src.strip()
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m or m.end() == pos:
            raise TemplateError(f"unexpected {src[pos:].strip()[:20]!r} in action")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(src) and src[pos].isspace():
            pos += 1
    return out


def _pipeline(tokens: list[tuple[str, str]]) -> tuple[list[str], list[Any]]:
    """(declared variables, commands); a command is a list of operands."""
    decl: list[str] = []
    if any(k == "decl" for k, _ in tokens):
        i = next(i for i, (k, _) in enumerate(tokens) if k == "decl")
        decl = [v for k, v in tokens[:i] if k == "var"]
        tokens = tokens[i + 1:]
    commands: list[Any] = [[]]
    stack: list[list[Any]] = []
    for kind, value in tokens:
        if kind == "punct" and value == "|":
            commands.append([])
        elif kind == "punct" and value == "(":
            stack.append(commands)
            commands = [[]]
        elif kind == "punct" and value == ")":
            if not stack:
                raise TemplateError("unexpected )")
            inner, commands = commands, stack.pop()
            commands[-1].append(("pipe", inner))
        elif kind == "punct":
            continue  # the comma of "$i, $v"
        else:
            commands[-1].append((kind, value))
    if stack or any(not c for c in commands):
        raise TemplateError("unfinished pipeline")
    return decl, commands


def _lex(source: str) -> Iterator[tuple[str, str]]:
    """("text", s) and ("action", s) pieces, whitespace trimmed as marked."""
    pieces: list[list[str]] = []
    pos = 0
    for m in _ACTION.finditer(source):
        pieces.append(["text", source[pos:m.start()]])
        if m.group(1) and pieces:
            pieces[-1][1] = pieces[-1][1].rstrip()
        pieces.append(["action", m.group(2).strip(), "trim" if m.group(3) else ""])
        pos = m.end()
    pieces.append(["text", source[pos:]])
    for i, piece in enumerate(pieces):
        if piece[0] == "action" and piece[2] and i + 1 < len(pieces):
            pieces[i + 1][1] = pieces[i + 1][1].lstrip()
    for piece in pieces:
        if piece[0] == "text" and piece[1]:
            yield "text", piece[1]
        elif piece[0] == "action" and not (piece[1].startswith("/*")
                                           and piece[1].endswith("*/")):
            yield "action", piece[1]


def parse(source: str) -> tuple[list[Node], dict[str, list[Node]]]:
    """The template's nodes and its ``define``d templates."""
    defines: dict[str, list[Node]] = {}
    root: list[Node] = []
    # stack of (node, list being filled, opening keyword)
    stack: list[tuple[Node | None, list[Node], str]] = [(None, root, "")]
    for kind, text in _lex(source):
        target = stack[-1][1]
        if kind == "text":
            target.append(Node("text", text=text))
            continue
        word, _, rest = text.partition(" ")
        rest = rest.strip()
        if word in ("if", "range", "with"):
            decl, pipe = _pipeline(_tokens(rest))
            node = Node(word, pipe=pipe, decl=decl)
            target.append(node)
            stack.append((node, node.body, word))
        elif word == "define":
            name = _string(rest)
            defines[name] = []
            stack.append((None, defines[name], "define"))
        elif word == "else":
            node, _, opener = stack.pop()
            if node is None:
                raise TemplateError("unexpected {{else}}")
            if rest.startswith("if "):  # else if: a nested if in the else branch
                decl, pipe = _pipeline(_tokens(rest[3:]))
                inner = Node("if", pipe=pipe, decl=decl)
                node.other.append(inner)
                stack.append((node, node.other, opener + "+"))
                stack.append((inner, inner.body, "if"))
            else:
                stack.append((node, node.other, opener))
        elif word == "end":
            if len(stack) == 1:
                raise TemplateError("unexpected {{end}}")
            stack.pop()
            while stack[-1][2].endswith("+"):  # the outer ifs of an "else if" chain
                stack.pop()
        elif word == "template":
            name_token, _, arg = rest.partition(" ")
            pipe = _pipeline(_tokens(arg))[1] if arg.strip() else []
            target.append(Node("template", name=_string(name_token), pipe=pipe))
        else:
            decl, pipe = _pipeline(_tokens(text))
            target.append(Node("action", pipe=pipe, decl=decl))
    if len(stack) != 1:
        raise TemplateError(f"unexpected EOF: {{{{{stack[-1][2]}}}}} without {{{{end}}}}")
    return root, defines


def _string(token: str) -> str:
    token = token.strip()
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"`":
        return token[1:-1] if token[0] == "`" else bytes(token[1:-1], "utf-8").decode(
            "unicode_escape")
    raise TemplateError(f"expected a quoted name, got {token!r}")


# -- running ---------------------------------------------------------------------

def truth(value: Any) -> bool:
    return bool(value) if value is not None else False


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}" if value != int(value) else str(int(value))
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_fmt_value(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_fmt_value(v) for v in value) + "]"
    return go(value)


def printf(fmt: str, *args: Any) -> str:
    values = list(args)

    def one(m: re.Match[str]) -> str:
        flags, width, precision, verb = m.groups()
        if verb == "%":
            return "%"
        if not values:
            return f"%!{verb}(MISSING)"
        value = values.pop(0)
        if verb == "f":
            text = f"{float(value):.{precision or 6}f}"
        elif verb == "d":
            text = str(int(value))
        elif verb == "q":
            text = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        else:  # v s t
            text = _fmt_value(value)
        width_n = int(width or 0)
        return text.ljust(width_n) if "-" in flags else text.rjust(width_n)

    return _VERB.sub(one, fmt)


def _index(container: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(container, dict):
            container = container.get(key, "")
        else:
            container = container[int(key)]
    return container


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "and": lambda *a: next((x for x in a if not truth(x)), a[-1]),
    "or": lambda *a: next((x for x in a if truth(x)), a[-1]),
    "not": lambda a: not truth(a),
    "len": len,
    "index": _index,
    "eq": lambda a, *b: any(a == x for x in b),
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "print": lambda *a: "".join(_fmt_value(x) for x in a),
    "println": lambda *a: " ".join(_fmt_value(x) for x in a) + "\n",
    "printf": printf,
    "join": lambda items, sep: sep.join(items),
    "kibToGib": lambda kib: str(int(kib) // (1024 * 1024)),
    "entryStateString": state_text,
}


def field_of(value: Any, name: str) -> Any:
    if not isinstance(value, dict):
        raise TemplateError(f"can't evaluate field {name} in type {type(value).__name__}")
    key = JSON_KEYS.get(name, name.lower())
    if key in value:
        return value[key]
    if name in ZERO:
        return ZERO[name]
    raise TemplateError(f"can't evaluate field {name}")


class _Run:
    def __init__(self, defines: dict[str, list[Node]]) -> None:
        self.defines = defines
        self.out: list[str] = []
        self.depth = 0

    def nodes(self, nodes: list[Node], dot: Any, scope: dict[str, Any]) -> None:
        scope = dict(scope)  # variables declared inside a block end with it
        for node in nodes:
            self.node(node, dot, scope)

    def node(self, node: Node, dot: Any, scope: dict[str, Any]) -> None:
        if node.kind == "text":
            self.out.append(node.text)
        elif node.kind == "action":
            value = self.pipe(node.pipe, dot, scope)
            if node.decl:
                scope[node.decl[0]] = value
            else:
                self.out.append(_fmt_value(value))
        elif node.kind in ("if", "with"):
            value = self.pipe(node.pipe, dot, scope)
            inner = dict(scope)
            if node.decl:
                inner[node.decl[0]] = value
            if truth(value):
                self.nodes(node.body, value if node.kind == "with" else dot, inner)
            else:
                self.nodes(node.other, dot, scope)
        elif node.kind == "range":
            self.range(node, dot, scope)
        elif node.kind == "template":
            if node.name not in self.defines:
                raise TemplateError(f'no such template "{node.name}"')
            self.depth += 1
            if self.depth > 100:
                raise TemplateError("exceeded maximum template depth (100)")
            arg = self.pipe(node.pipe, dot, scope) if node.pipe else None
            self.nodes(self.defines[node.name], arg, {"$": arg})
            self.depth -= 1

    def range(self, node: Node, dot: Any, scope: dict[str, Any]) -> None:
        value = self.pipe(node.pipe, dot, scope)
        if isinstance(value, dict):
            items = sorted(value.items())
        elif isinstance(value, list):
            items = list(enumerate(value))
        elif value is None:
            items = []
        else:
            raise TemplateError(f"range can't iterate over {_fmt_value(value)}")
        if not items:
            self.nodes(node.other, dot, scope)
        for key, element in items:
            inner = dict(scope)
            if len(node.decl) == 1:
                inner[node.decl[0]] = element
            elif len(node.decl) == 2:
                inner[node.decl[0]], inner[node.decl[1]] = key, element
            self.nodes(node.body, element, inner)

    def pipe(self, commands: list[Any], dot: Any, scope: dict[str, Any]) -> Any:
        value: Any = None
        for i, command in enumerate(commands):
            value = self.command(command, dot, scope, value if i else _NONE)
        return value

    def command(self, operands: list[Any], dot: Any, scope: dict[str, Any],
                piped: Any) -> Any:
        kind, first = operands[0]
        if kind == "ident" and first not in ("true", "false", "nil"):
            if first not in FUNCTIONS:
                raise TemplateError(f'function "{first}" not defined')
            args = [self.operand(o, dot, scope) for o in operands[1:]]
            if piped is not _NONE:
                args.append(piped)
            try:
                return FUNCTIONS[first](*args)
            except TemplateError:
                raise
            except Exception as exc:  # noqa: BLE001 - a bad call reads as Go's error
                raise TemplateError(f"error calling {first}: {exc}") from None
        if len(operands) > 1 or piped is not _NONE:
            raise TemplateError(f"can't give argument to non-function {first}")
        return self.operand(operands[0], dot, scope)

    def operand(self, operand: tuple[str, Any], dot: Any, scope: dict[str, Any]) -> Any:
        kind, value = operand
        if kind == "pipe":
            return self.pipe(value, dot, scope)
        if kind == "str":
            return _string(value)
        if kind == "num":
            return float(value) if "." in value else int(value)
        if kind == "ident":
            return {"true": True, "false": False, "nil": None}.get(value) \
                if value in ("true", "false", "nil") else FUNCTIONS[value]()
        if kind == "field":
            result = dot
            for name in value.split(".")[1:]:
                if name:
                    result = field_of(result, name)
            return result
        if kind == "var":
            name, _, path = value.partition(".")
            if name not in scope:
                raise TemplateError(f"undefined variable: {name}")
            result = scope[name]
            for part in path.split(".") if path else []:
                result = field_of(result, part)
            return result
        raise TemplateError(f"unexpected {value!r}")


_NONE = object()


def render(source: str, data: Any) -> str:
    """Run the template ``source`` over ``data`` (the server's JSON)."""
    try:
        nodes, defines = parse(source)
    except TemplateError as exc:
        raise TemplateError(f"failed to parse template: {exc}") from None
    run = _Run(defines)
    try:
        run.nodes(nodes, data, {"$": data})
    except TemplateError as exc:
        raise TemplateError(f"failed to execute template: {exc}") from None
    return "".join(run.out)
