"""What the docs, launch files and params files name, checked against the package itself, without running anything.

- ``shell_commands``: the commands of a Markdown text's fenced shell blocks (line continuations joined, comments
  dropped, ``<placeholders>`` kept as one word, split at ``&&``, ``||``, ``;`` and pipes);
- ``command_problems``: what is wrong in one such command: a ``depth-anything-ros`` line is parsed by the CLI's
  own argparse parser (subcommand, flags, choices, required arguments), once for every shape it shows
  (``[optional | alternative]`` groups and ``a|b`` choices); ``depth_node --ros-args -p NAME:=...``;
  ``ros2 run`` / ``ros2 launch`` of this package; pip extras; scripts run by path;
- ``launch_facts``: what a launch file declares, reads, starts and sets, read with ``ast`` (launch_ros does not
  import here), following its imports from this package; ``launch_problems`` checks them;
- ``params_problems``: the keys of a ROS 2 params file against the node's declared parameters.

Every check returns a list of problems (empty: all good), so a test can plant an error and see it reported.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import io
import itertools
import re
import runpy
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "depth_anything_ros"
CLI = "depth-anything-ros"
CLI_MODULE = "depth_anything_ros.cli.main"
SHELL_LANGUAGES = {"bash", "sh", "shell", "console", "zsh"}
OPERATORS = {"&&", "||", ";", "|"}
PLACEHOLDER = re.compile(r"<[^\s<>][^<>\n]*?>")  # <a V2 ViT-S .pth>, <camera ns>; not a shell redirection
REDIRECT = re.compile(r"^\d?(>>?|<|&>)(&\d)?$")
EXTRAS = re.compile(rf"^(?:\.|{PACKAGE})\[([\w,-]+)\]$")
# rclpy declares qos_overrides.<topic>.<publisher|subscription>.<policy> for endpoints made with
# QoSOverridingOptions (the node's inputs and outputs; with_default_policies: history, depth, reliability)
QOS_OVERRIDE = re.compile(r"^qos_overrides\./\S+\.(publisher|subscription)\.(history|depth|reliability)$")
ROS_ARGS_WITH_VALUE = {"-r", "--remap", "--params-file", "--log-level", "-e", "--enclave"}


# ---- Markdown -> shell words -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Word:
    """One shell word: its text without quotes, the unquoted ``[`` before it and ``]`` after it."""

    text: str
    opens: int = 0
    closes: int = 0
    operator: bool = False  # an unquoted &&, ||, ; or | standing alone


@dataclass(frozen=True)
class Command:
    source: str  # file:line
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


def shell_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, content) of each fenced block labelled as shell."""
    blocks, lines, start, language = [], text.splitlines(), None, ""
    for number, line in enumerate(lines, 1):
        fence = re.match(r"^\s*```\s*([\w+-]*)", line)
        if not fence:
            continue
        if start is None:
            start, language = number, fence.group(1).lower()
        else:
            if language in SHELL_LANGUAGES:
                blocks.append((start + 1, "\n".join(lines[start:number - 1])))
            start = None
    return blocks


def _word(chars: list[str], quoted: list[bool]) -> Word:
    text = "".join(chars)
    opens = 0
    while opens < len(text) and text[opens] == "[" and not quoted[opens]:
        opens += 1
    closes = 0
    while closes < len(text) - opens and text[-1 - closes] == "]" and not quoted[-1 - closes]:
        closes += 1
    return Word(text[opens:len(text) - closes], opens, closes, operator=text in OPERATORS and not any(quoted))


def split_words(line: str) -> list[Word]:
    """A logical shell line as words: quotes removed, ``# comments`` dropped; ValueError on an open quote."""
    words: list[Word] = []
    chars: list[str] = []
    quoted: list[bool] = []
    quote, started, i = "", False, 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == quote:
                quote = ""
            else:
                if c == "\\" and quote == '"' and i + 1 < len(line) and line[i + 1] in '"\\$`':
                    i += 1
                chars.append(line[i])
                quoted.append(True)
        elif c in "'\"":
            quote, started = c, True
        elif c == "\\" and i + 1 < len(line):
            i += 1
            chars.append(line[i])
            quoted.append(True)
        elif c.isspace():
            if started:
                words.append(_word(chars, quoted))
            chars, quoted, started = [], [], False
        elif c == "#" and not started:
            break
        elif c == ";" and not quote:
            if started:
                words.append(_word(chars, quoted))
            words.append(Word(";", operator=True))
            chars, quoted, started = [], [], False
        else:
            chars.append(c)
            quoted.append(False)
            started = True
        i += 1
    if quote:
        raise ValueError(f"unclosed {quote} quote")
    if started:
        words.append(_word(chars, quoted))
    return words


def shell_commands(text: str, name: str) -> tuple[list[Command], list[str]]:
    """The commands of every fenced shell block of a Markdown text, and the problems met reading them."""
    commands, problems = [], []
    for first, block in shell_blocks(text):
        logical: list[tuple[int, str]] = []
        pending = ""
        for number, line in enumerate(block.splitlines(), first):
            if not pending:
                start = number
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            logical.append((start, pending + line))
            pending = ""
        if pending:
            logical.append((start, pending))
        for number, line in logical:
            try:
                words = split_words(PLACEHOLDER.sub("PLACEHOLDER", line))
            except ValueError as error:
                problems.append(f"{name}:{number}: {error}: {line.strip()}")
                continue
            depth, current = 0, []
            for word in words:
                depth += word.opens
                if word.operator and depth == 0:
                    if current:
                        commands.append(Command(f"{name}:{number}", tuple(current)))
                    current = []
                else:
                    current.append(word)
                depth -= word.closes
            if current:
                commands.append(Command(f"{name}:{number}", tuple(current)))
    return commands, problems


# ---- [optional | groups] and a|b choices -> the argument lists a line stands for ----------------------------

def group_tree(words: Iterable[Word]) -> list:
    """Words as a tree: a str is a word, a list of lists an optional group's alternatives."""
    root: list = []
    stack: list[tuple[list, list | None]] = [(root, None)]
    for word in words:
        for _ in range(word.opens):
            group: list[list] = [[]]
            stack[-1][0].append(group)
            stack.append((group[0], group))
        if word.operator and word.text == "|" and len(stack) > 1:
            group = stack[-1][1]
            group.append([])
            stack[-1] = (group[-1], group)
        elif word.text:
            stack[-1][0].append(word.text)
        for _ in range(word.closes):
            if len(stack) == 1:
                raise ValueError("']' without '['")
            stack.pop()
    if len(stack) > 1:
        raise ValueError("'[' without ']'")
    return root


def _minimal(seq: list) -> list[str]:
    return [item for item in seq if isinstance(item, str)]


def _full(seq: list) -> list[str]:
    return [word for item in seq for word in ([item] if isinstance(item, str) else _full(item[0]))]


def _group_variants(seq: list) -> list[list[str]]:
    variants = [_minimal(seq), _full(seq)]
    for position, item in enumerate(seq):
        if isinstance(item, list):
            for alternative in item:
                variants += [_minimal(seq[:position]) + inner + _minimal(seq[position + 1:])
                             for inner in _group_variants(alternative)]
    return variants


def argument_variants(words: Iterable[Word]) -> list[list[str]]:
    """Every argument list a documented line stands for: all optional groups left out, each alternative of each
    group on its own, every group with its first alternative; each ``a|b|c`` word with each of its choices."""
    out: list[list[str]] = []
    for variant in _group_variants(group_tree(words)):
        choices = [word.split("|") if "|" in word and not word.startswith("-") else [word] for word in variant]
        out.append([options[0] for options in choices])
        for position, options in enumerate(choices):
            for option in options[1:]:
                out.append([option if i == position else c[0] for i, c in enumerate(choices)])
    unique: list[list[str]] = []
    for variant in out:
        if variant not in unique:
            unique.append(variant)
    return unique


# ---- the package's own facts --------------------------------------------------------------------------------

@dataclass
class Package:
    """What the package installs and declares: the truth the docs are checked against."""

    root: Path
    executables: set[str]  # console scripts (setup.py entry points)
    extras: set[str]
    data_files: set[str]  # share-relative paths installed (e.g. config/depth.yaml)
    parameters: set[str]  # parameters the node declares
    launch: dict[str, LaunchFacts] = field(default_factory=dict)

    def declares(self, parameter: str) -> bool:
        return parameter in self.parameters or bool(QOS_OVERRIDE.match(parameter))


def setup_facts(root: Path) -> tuple[set[str], set[str], set[str]]:
    """Console scripts, extras and share-relative installed files, from setup.py itself (run up to setup())."""
    setup: dict = {}
    with mock.patch("setuptools.setup", lambda **arguments: setup.update(arguments)), contextlib.chdir(root):
        runpy.run_path("setup.py")
    scripts = {entry.split("=")[0].strip() for entry in setup["entry_points"].get("console_scripts", [])}
    prefix = f"share/{PACKAGE}/"
    installed = {f"{dest[len(prefix):]}/{Path(source).name}" if dest != prefix[:-1] else Path(source).name
                 for dest, sources in setup["data_files"] if dest.startswith(prefix[:-1]) for source in sources}
    return scripts, set(setup["extras_require"]), installed


def package_facts(parameters: set[str], root: Path = ROOT) -> Package:
    scripts, extras, installed = setup_facts(root)
    package = Package(root, scripts, extras, installed, set(parameters))
    package.launch = {path.name: launch_facts(path.read_text(), path.name, root)
                      for path in sorted((root / "launch").glob("*.launch.py"))}
    return package


# ---- commands -----------------------------------------------------------------------------------------------

class _ParseError(Exception):
    pass


def _raise(message: str):
    raise _ParseError(message)


def _relax(parser: argparse.ArgumentParser) -> None:
    """Nothing required: for lines that elide arguments with ``...`` or ``$VAR``."""
    for action in parser._actions:
        action.required = False
        if not action.option_strings and action.nargs in (None, "+"):
            action.nargs = "?" if action.nargs is None else "*"
    for group in parser._mutually_exclusive_groups:
        group.required = False


def _cli_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The CLI's own parser, raising instead of exiting, with no abbreviated flags (the docs write them whole)."""
    from depth_anything_ros.cli.main import build_parser

    parser, subparsers = build_parser()
    for p in (parser, *subparsers.values()):
        p.error = _raise
        p.allow_abbrev = False
    return parser, subparsers


_shared_parser = functools.cache(_cli_parser)  # parsing does not change it; _relax gets a fresh one


def cli_problems(args: list[str]) -> list[str]:
    """What the CLI's parser refuses in ``depth-anything-ros ARGS`` (parsed, never run)."""
    parser, subparsers = _shared_parser()
    command = next((a for a in args if not a.startswith("-")), None)
    if command is None:
        return [] if {"-h", "--help", "--version-info"} & set(args) else [f"{CLI} without a subcommand"]
    if command not in subparsers:
        return [f"{CLI} has no subcommand {command!r} (it has: {', '.join(sorted(subparsers))})"]
    sub = subparsers[command]
    options = {**parser._option_string_actions, **sub._option_string_actions}
    problems, cleaned, relaxed = [], [], False
    for arg in args:
        if arg == "..." or "$" in arg:  # an elided value or arguments
            previous = options.get(cleaned[-1]) if cleaned else None
            if previous is not None and previous.nargs != 0:
                cleaned.append("VALUE" if "$" in arg else arg)
            else:
                relaxed = True
            continue
        flag = arg.split("=", 1)[0]
        if flag.startswith("-") and flag not in options:
            problems.append(f"`{CLI} {command}` has no flag {flag}")
        cleaned.append(arg)
    if problems:
        return problems
    if relaxed:
        parser, subparsers = _cli_parser()
        _relax(subparsers[command])
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            parser.parse_args(cleaned)
    except _ParseError as error:
        return [f"`{CLI} {' '.join(cleaned)}`: {error}"]
    except SystemExit as error:  # --help
        if error.code:
            return [f"`{CLI} {' '.join(cleaned)}` exits with {error.code}"]
    return []


def node_problems(executable: str, args: list[str], package: Package) -> list[str]:
    """``depth_node --ros-args -p NAME:=VALUE ...``: each NAME is a declared parameter."""
    if not args:
        return []
    if args[0] != "--ros-args":
        return [f"{executable} takes ROS arguments only (after --ros-args), got {args[0]!r}"]
    problems, i = [], 1
    while i < len(args):
        arg = args[i]
        if arg in ("-p", "--param"):
            assignment = args[i + 1] if i + 1 < len(args) else ""
            name, separator, _ = assignment.partition(":=")
            if not separator:
                problems.append(f"{executable}: {arg} needs NAME:=VALUE, got {assignment!r}")
            elif not package.declares(name):
                problems.append(f"{executable}: the node declares no parameter {name!r}")
            i += 2
        else:
            i += 2 if arg in ROS_ARGS_WITH_VALUE else 1
    return problems


def _launch_problems_of_command(words: list[str], package: Package) -> list[str]:
    if len(words) < 2 or words[0] != PACKAGE:
        return []
    name, arguments = words[1], words[2:]
    facts = package.launch.get(name)
    if facts is None:
        return [f"launch/ has no {name} (it has: {', '.join(sorted(package.launch))})"]
    problems = []
    for argument in arguments:
        key, separator, _ = argument.partition(":=")
        if argument in ("...", "--show-args", "-s"):
            continue
        if not separator:
            problems.append(f"ros2 launch {name}: {argument!r} is not NAME:=VALUE")
        elif key not in facts.arguments:
            problems.append(f"{name} declares no launch argument {key!r} "
                            f"(it has: {', '.join(sorted(facts.arguments))})")
    return problems


def command_problems(command: Command, package: Package) -> list[str]:
    """What in one documented command names something the package does not have."""
    try:
        variants = argument_variants(command.words)
    except ValueError as error:
        return [f"{command.source}: {error}: {command.text}"]
    problems: list[str] = []
    for words in variants:
        words = _without_redirections(words)
        for problem in _variant_problems(words, package):
            if problem not in problems:
                problems.append(problem)
    return [f"{command.source}: {problem}" for problem in problems]


def _without_redirections(words: list[str]) -> list[str]:
    out, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif REDIRECT.match(word):
            skip = True
        elif not re.match(r"^\d?(>>?|<)\S", word):
            out.append(word)
    return out


def _variant_problems(words: list[str], package: Package) -> list[str]:
    while words and (re.match(r"^[A-Za-z_]\w*=", words[0]) or words[0] in ("sudo", "time", "exec")):
        words = words[1:]  # VAR=value prefixes
    if not words:
        return []
    problems = []
    for word in words:
        extras = EXTRAS.match(word)
        if extras:
            problems += [f"setup.py has no extra {name!r} (it has: {', '.join(sorted(package.extras))})"
                         for name in extras.group(1).split(",") if name not in package.extras]
    head = words[0]
    script = words[1] if head in ("bash", "sh", "python", "python3") and len(words) > 1 else "-"
    if not script.startswith(("-", "/", "~")) and not (package.root / script).is_file():
        problems.append(f"{script} does not exist")
    if CLI in words:
        problems += cli_problems(words[words.index(CLI) + 1:])
    elif CLI_MODULE in words and words[words.index(CLI_MODULE) - 1] == "-m":
        problems += cli_problems(words[words.index(CLI_MODULE) + 1:])
    if head in ("depth_node", "depth_lifecycle_node"):
        problems += node_problems(head, words[1:], package)
    if head == "ros2" and len(words) >= 4 and words[1] == "run" and words[2] == PACKAGE:
        if words[3] not in package.executables:
            problems.append(f"setup.py installs no executable {words[3]!r} (it has: "
                            f"{', '.join(sorted(package.executables))})")
        elif words[3] in ("depth_node", "depth_lifecycle_node"):
            problems += node_problems(words[3], words[4:], package)
    if head == "ros2" and len(words) >= 2 and words[1] == "launch":
        problems += _launch_problems_of_command(words[2:], package)
    return problems


def markdown_problems(text: str, name: str, package: Package) -> tuple[list[str], int]:
    """Problems of every command in a Markdown text's shell blocks, and how many commands were read."""
    commands, problems = shell_commands(text, name)
    for command in commands:
        problems += command_problems(command, package)
    return problems, len(commands)


# ---- launch files -------------------------------------------------------------------------------------------

@dataclass
class LaunchFacts:
    """What a launch file (and the functions of this package it calls) declares, reads, starts and sets."""

    arguments: dict[str, str] = field(default_factory=dict)  # declared launch argument -> where
    used: list[tuple[str, str]] = field(default_factory=list)  # launch arguments read
    executables: list[tuple[str, str]] = field(default_factory=list)  # executables of this package started
    parameters: list[tuple[str, str]] = field(default_factory=list)  # parameter names set
    share_files: list[tuple[str, str]] = field(default_factory=list)  # share/<package>/... paths named
    cli_commands: list[tuple[list[str], str]] = field(default_factory=list)  # depth-anything-ros arguments


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _constant(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _keyword(node: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


def _share_path(node: ast.AST) -> list[str] | None:
    """The constant parts after FindPackageShare(<this package>) in PathJoinSubstitution([...]); None if not that."""
    if not (isinstance(node, ast.Call) and _call_name(node) == "PathJoinSubstitution" and node.args
            and isinstance(node.args[0], ast.List | ast.Tuple) and node.args[0].elts):
        return None
    first, *rest = node.args[0].elts
    if not (isinstance(first, ast.Call) and _call_name(first) == "FindPackageShare"
            and first.args and _constant(first.args[0]) == PACKAGE):
        return None
    parts = [_constant(part) for part in rest]
    return None if None in parts else parts


def _lib_executable(parts: list[str]) -> str | None:
    """share/<pkg>/../../lib/<pkg>/<exe> -> exe."""
    if len(parts) == 5 and parts[:4] == ["..", "..", "lib", PACKAGE]:
        return parts[4]
    return None


def _collect(tree: ast.AST, where: str, facts: LaunchFacts) -> None:
    for node in ast.walk(tree):
        at = f"{where}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "launch_configurations" and _constant(node.slice) is not None:
            facts.used.append((_constant(node.slice), at))
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name == "get" and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Attribute) \
                and node.func.value.attr == "launch_configurations" and node.args and _constant(node.args[0]):
            facts.used.append((_constant(node.args[0]), at))
        if name == "DeclareLaunchArgument" and node.args and _constant(node.args[0]):
            facts.arguments[_constant(node.args[0])] = at
        if name == "LaunchConfiguration" and node.args and _constant(node.args[0]):
            facts.used.append((_constant(node.args[0]), at))
        package = _constant(_keyword(node, "package"))
        executable = _constant(_keyword(node, "executable"))
        if executable and package in (None, PACKAGE):
            facts.executables.append((executable, at))
        parameters = _keyword(node, "parameters")
        if isinstance(parameters, ast.List | ast.Tuple) and package in (None, PACKAGE):
            for item in parameters.elts:
                if isinstance(item, ast.Dict):
                    facts.parameters += [(_constant(key), at) for key in item.keys if _constant(key)]
        parts = _share_path(node)
        if parts is not None and _lib_executable(parts) is None:
            facts.share_files.append(("/".join(parts), at))
        cmd = _keyword(node, "cmd") if name == "ExecuteProcess" else None
        if isinstance(cmd, ast.List | ast.Tuple) and cmd.elts:
            _collect_process(cmd.elts, at, facts)


def _collect_process(elements: list[ast.AST], at: str, facts: LaunchFacts) -> None:
    """ExecuteProcess(cmd=[...]) of this package's lib/ executable: the executable, its -p parameters, its CLI."""
    parts = _share_path(elements[0])
    executable = _lib_executable(parts) if parts else None
    if executable is None:
        return
    facts.executables.append((executable, at))
    args = [_constant(e) if _constant(e) is not None else "VALUE" for e in elements[1:]]
    if executable == CLI:
        facts.cli_commands.append((args, at))
    for flag, value in itertools.pairwise(args):
        if flag in ("-p", "--param"):
            facts.parameters.append((value.partition(":=")[0], at))


def _module_file(module: str, root: Path) -> Path | None:
    """The source of a module of this package: ``a/b.py``, or ``a/b/__init__.py`` for a package (its face)."""
    base = root / Path(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _defining_module(module: str, name: str, root: Path, depth: int = 0) -> tuple[ast.Module, Path] | None:
    """Where ``name`` imported from ``module`` is defined: that module, or through a face's re-export."""
    path = _module_file(module, root)
    if path is None or depth > 4:
        return None
    tree = ast.parse(path.read_text())
    if any(isinstance(f, ast.FunctionDef) and f.name == name for f in tree.body):
        return tree, path
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(f"{PACKAGE}.") and \
                any(alias.name == name for alias in node.names):
            return _defining_module(node.module, name, root, depth + 1)
    return None


def _imported_functions(tree: ast.Module, root: Path) -> list[tuple[ast.AST, str]]:
    """The functions this package's modules (or their faces) give the launch file, with those they call in their
    module."""
    out = []
    seen: set[tuple[Path, str]] = set()
    for node in tree.body:
        if not (isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(f"{PACKAGE}.")):
            continue
        for alias in node.names:
            found = _defining_module(node.module, alias.name, root)
            if found is None:
                continue
            module, path = found
            functions = {f.name: f for f in module.body if isinstance(f, ast.FunctionDef)}
            todo = [alias.name]
            while todo:
                name = todo.pop()
                if (path, name) in seen:
                    continue
                seen.add((path, name))
                out.append((functions[name], str(path.relative_to(root))))
                todo += [_call_name(call) for call in ast.walk(functions[name])
                         if isinstance(call, ast.Call) and _call_name(call) in functions]
    return out


def launch_facts(source: str, name: str, root: Path = ROOT) -> LaunchFacts:
    """Read a launch file's source with ``ast`` (never imported)."""
    tree = ast.parse(source)
    facts = LaunchFacts()
    _collect(tree, name, facts)
    for function, where in _imported_functions(tree, root):
        _collect(function, where, facts)
    return facts


def launch_problems(facts: LaunchFacts, package: Package) -> list[str]:
    problems = [f"{at}: launch argument {name!r} is read but never declared"
                for name, at in facts.used if name not in facts.arguments]
    problems += [f"{at}: setup.py installs no executable {name!r} (it has: {', '.join(sorted(package.executables))})"
                 for name, at in facts.executables if name not in package.executables]
    problems += [f"{at}: the node declares no parameter {name!r}"
                 for name, at in facts.parameters if not package.declares(name)]
    problems += [f"{at}: setup.py installs no share/{PACKAGE}/{path}"
                 for path, at in facts.share_files if path not in package.data_files]
    for args, at in facts.cli_commands:
        problems += [f"{at}: {problem}" for problem in cli_problems(args)]
    return problems


# ---- params files -------------------------------------------------------------------------------------------

def _flatten(values: dict, prefix: str = "") -> list[str]:
    """Nested parameter mappings as ROS 2 names (``qos_overrides: {/t: {...}}`` -> ``qos_overrides./t...``)."""
    names = []
    for key, value in values.items():
        name = f"{prefix}{key}"
        names += _flatten(value, f"{name}.") if isinstance(value, dict) else [name]
    return names


def params_problems(text: str, name: str, package: Package) -> list[str]:
    """Every parameter a params file sets for this package's node must be one the node declares."""
    from depth_anything_ros.node.config import NODE_NAMES

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        return [f"{name}: not YAML: {error}"]
    if not isinstance(document, dict):
        return [f"{name}: not a ROS 2 params file (no '<node>: ros__parameters:' mapping)"]
    problems, sections = [], 0
    for node, section in document.items():
        if not (isinstance(section, dict) and "ros__parameters" in section):
            problems.append(f"{name}: {node!r} has no ros__parameters")
            continue
        if node not in NODE_NAMES:
            problems.append(f"{name}: section {node!r} does not reach the node (use one of {NODE_NAMES})")
            continue
        sections += 1
        problems += [f"{name}: the node declares no parameter {key!r}"
                     for key in _flatten(section["ros__parameters"] or {}) if not package.declares(key)]
    if not sections and not problems:
        problems.append(f"{name}: no section for the node")
    return problems


# ---- the node's parameters and the launch files' overrides ----------------------------------------------------

@functools.cache
def node_parameters() -> frozenset[str]:
    """The parameters the node declares: its own ``declare_parameters`` on a real rclpy node (the knob table, plus
    what rclpy declares for every node), in a private context."""
    import rclpy

    from depth_anything_ros.node.ros_node import declare_parameters

    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("doc_checks_parameters", context=context)
        try:
            declare_parameters(node)
            return frozenset(node.list_parameters([], 0).names)
        finally:
            node.destroy_node()
    finally:
        rclpy.shutdown(context=context)


def override_problems(package: Package) -> list[str]:
    """The parameters the launch files set from launch arguments (launch_support.overrides_from, every argument
    given) must be declared by the node, and each such argument declared by the launch files."""
    from depth_anything_ros.model import DA3_NAMES
    from depth_anything_ros.node import launch_support

    given = {name: "true" if name in launch_support.BOOL_ARGUMENTS else DA3_NAMES[0] if name == "model" else "x"
             for name in (*launch_support.OVERRIDABLE, *launch_support.BOOL_ARGUMENTS)}
    problems = [f"launch_support.py: the node declares no parameter {name!r} (set from the launch argument)"
                for name in launch_support.overrides_from(given) if not package.declares(name)]
    for launch, facts in package.launch.items():
        if facts.executables and any(at.startswith("depth_anything_ros/node/launch_support.py")
                                     for _, at in facts.executables):
            problems += [f"{launch}: launch argument {name!r} is read but never declared"
                         for name in (*launch_support.ARGUMENT_NAMES, *given) if name not in facts.arguments]
    return problems
