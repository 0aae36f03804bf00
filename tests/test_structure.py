"""The import structure of the project, read from the sources with ``ast`` (nothing is imported).

For each directory of ``DIRECTORIES``: (a) its modules import each other without a cycle,
module-level and function-level imports alike; (b) no module uses another module's private
(``_name``) functions, classes or constants, by ``from m import _x`` or ``m._x`` (private
*modules* may be imported: ``from jaxsched.schedules import _decay``); (c) outside ``jaxsched/``
(``tests/`` excepted), nothing imports a private module or name of the library. The library's
modules also import downward only: ``_common`` <- ``schedules`` <- ``transforms`` <- ``porting``
<- ``_catalog``, ``_config`` <- ``laws`` <- ``tools`` <- ``jaxsched`` itself.

``python -m tests.test_structure [DIRECTORY ...]`` prints each module's project imports
(``jaxsched`` by default).
"""

import ast
import pathlib
import sys
from typing import Dict, Iterator, List, NamedTuple, Optional, Set

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LIBRARY = "jaxsched"
# The directories checked: the library and the code that uses it (add a directory here to check it).
DIRECTORIES = ["jaxsched", "docs", "experiments", "benchmarks"]

# The library's layers, lowest first: a module may import its own layer and those below.
LAYERS = (
  ("jaxsched._common",),
  ("jaxsched.schedules",),
  ("jaxsched.transforms",),
  ("jaxsched.porting",),
  ("jaxsched._catalog", "jaxsched._config"),
  ("jaxsched.laws",),
  ("jaxsched.tools",),
  ("jaxsched", "jaxsched.__main__"),
)


class Import(NamedTuple):
  """One imported module, or one name imported from a module."""

  importer: str  # the importing module, e.g. "jaxsched.porting._torch"
  path: pathlib.Path  # its file
  line: int
  target: str  # the module imported, e.g. "jaxsched.schedules._decay"
  name: Optional[str]  # the name taken from target (``from target import name``), else None
  bound: str  # the name the statement binds in the importer
  binds: str  # what that name stands for, dotted: "jaxsched" for ``import jaxsched.tools``

  def where(self) -> str:
    return f"{self.path.relative_to(ROOT)}:{self.line}"


def _is_private(name: str) -> bool:
  return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def modules(directory: pathlib.Path) -> Dict[str, pathlib.Path]:
  """Dotted name -> file of every ``.py`` file under ``directory``.

  A directory holding ``__init__.py`` is a package named after itself (``jaxsched.tools._cli``);
  the files of any other directory are named from it, as when it is on ``sys.path``
  (``docs/conf.py`` puts ``docs/`` there: ``gen_api``).
  """
  base = directory.parent if (directory / "__init__.py").is_file() else directory
  out = {}
  for path in sorted(directory.rglob("*.py")):
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
      parts.pop()
    out[".".join(parts)] = path
  return out


def _library_modules() -> Dict[str, pathlib.Path]:
  return modules(ROOT / LIBRARY)


def imports(module: str, path: pathlib.Path, known: Set[str]) -> List[Import]:
  """Every import in the file, at any depth (functions, classes, conditionals).

  ``from m import x`` is an import of the module ``m.x`` when that is one of ``known``,
  else of the name ``x`` from ``m``. Relative imports are resolved against the module's
  package.
  """
  out = []
  for node in ast.walk(ast.parse(path.read_text(), str(path))):
    if isinstance(node, ast.Import):
      for alias in node.names:
        bound = alias.asname or alias.name.split(".")[0]
        binds = alias.name if alias.asname else bound
        out.append(Import(module, path, node.lineno, alias.name, None, bound, binds))
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ""
      if node.level:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
      for alias in node.names:
        dotted = f"{base}.{alias.name}"
        is_module = dotted in known
        out.append(
          Import(
            module,
            path,
            node.lineno,
            dotted if is_module else base,
            None if is_module else alias.name,
            alias.asname or alias.name,
            dotted,
          )
        )
  return out


def _attribute_chains(path: pathlib.Path) -> Iterator[tuple]:
  """``(line, name, [attr, ...])`` of every outermost ``name.a.b`` chain in the file."""
  tree = ast.parse(path.read_text(), str(path))
  inner = {
    id(node.value)
    for node in ast.walk(tree)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
  }
  for node in ast.walk(tree):
    if not isinstance(node, ast.Attribute) or id(node) in inner:
      continue
    attrs = []
    value: ast.AST = node
    while isinstance(value, ast.Attribute):
      attrs.append(value.attr)
      value = value.value
    if isinstance(value, ast.Name):
      yield node.lineno, value.id, attrs[::-1]


class Graph(NamedTuple):
  """The modules of a directory and every import they make."""

  directory: pathlib.Path
  modules: Dict[str, pathlib.Path]
  imports: List[Import]
  known: Set[str]  # the modules imports resolve to: the directory's and the library's

  def edges(self) -> Dict[str, Set[str]]:
    """``module -> the modules of this directory it imports`` (itself left out)."""
    out: Dict[str, Set[str]] = {m: set() for m in self.modules}
    for imp in self.imports:
      if imp.target in self.modules and imp.target != imp.importer:
        out[imp.importer].add(imp.target)
    return out

  def uses(self, module: str) -> Iterator[tuple]:
    """``(line, dotted path)`` of every ``name.a.b`` in ``module`` on a name its imports bind."""
    bound = {imp.bound: imp.binds for imp in self.imports if imp.importer == module}
    for line, name, attrs in _attribute_chains(self.modules[module]):
      if name in bound:
        yield line, ".".join([bound[name], *attrs])


def graph(directory: pathlib.Path) -> Graph:
  """The import graph of the ``.py`` files under ``directory``."""
  found = modules(directory)
  known = set(found) | set(_library_modules())
  found_imports = [imp for m, p in found.items() for imp in imports(m, p, known)]
  return Graph(directory, found, found_imports, known)


def _owner(dotted: str, known: Set[str]) -> tuple:
  """``(module, name)``: the longest module of ``known`` that ``dotted`` starts with, and the
  name taken from it (None when ``dotted`` is that module, or no module of ``known``)."""
  parts = dotted.split(".")
  for i in range(len(parts), 0, -1):
    if ".".join(parts[:i]) in known:
      return ".".join(parts[:i]), (parts[i] if i < len(parts) else None)
  return None, None


def cycles(g: Graph) -> List[List[str]]:
  """One cycle ``[a, b, ..., a]`` per group of modules that import each other in a circle."""
  edges = g.edges()
  index: Dict[str, int] = {}
  low: Dict[str, int] = {}
  stack: List[str] = []
  groups: List[List[str]] = []

  def visit(v: str) -> None:  # Tarjan's strongly connected components
    index[v] = low[v] = len(index)
    stack.append(v)
    for w in sorted(edges[v]):
      if w not in index:
        visit(w)
        low[v] = min(low[v], low[w])
      elif w in stack:
        low[v] = min(low[v], index[w])
    if low[v] == index[v]:
      group = stack[stack.index(v) :]
      del stack[stack.index(v) :]
      if len(group) > 1:
        groups.append(sorted(group))

  for v in sorted(edges):
    if v not in index:
      visit(v)
  out = []
  for group in groups:  # the shortest way around the group from its first module
    start, members = group[0], set(group)
    parents: Dict[str, str] = {}
    frontier = [start]
    while start not in parents:  # breadth first, within the group
      following = []
      for v in frontier:
        for w in sorted(edges[v] & members):
          if w not in parents:
            parents[w] = v
            following.append(w)
      frontier = following
    path, v = [start], parents[start]
    while v != start:
      path.append(v)
      v = parents[v]
    out.append([start, *reversed(path)])
  return out


def private_uses(g: Graph) -> List[str]:
  """Where a module takes a private name of another module of the directory: ``from m import
  _x`` or ``m._x`` (the library's private names seen from outside are for
  :func:`private_library_uses`)."""
  problems = []
  for imp in g.imports:
    if imp.name is not None and _is_private(imp.name) and imp.target in g.modules:
      if imp.target != imp.importer:
        problems.append(f"{imp.where()}: {imp.importer} imports {imp.target}.{imp.name}")
  for module, path in g.modules.items():
    for line, dotted in g.uses(module):
      owner, name = _owner(dotted, set(g.modules))
      if owner is not None and owner != module and name is not None and _is_private(name):
        problems.append(f"{path.relative_to(ROOT)}:{line}: {module} uses {owner}.{name}")
  return sorted(set(problems))


def _private_library_path(dotted: str) -> bool:
  parts = dotted.split(".")
  return parts[0] == LIBRARY and any(_is_private(p) for p in parts[1:])


def private_library_uses(g: Graph) -> List[str]:
  """Where code outside the library imports or uses a private module or name of it."""
  problems = []
  for imp in g.imports:
    dotted = imp.target if imp.name is None else f"{imp.target}.{imp.name}"
    if _private_library_path(dotted):
      problems.append(f"{imp.where()}: {imp.importer} imports {dotted}")
  for module, path in g.modules.items():
    for line, dotted in g.uses(module):
      if _private_library_path(dotted):
        problems.append(f"{path.relative_to(ROOT)}:{line}: {module} uses {dotted}")
  return sorted(set(problems))


def _layer(module: str) -> Optional[int]:
  for rank, names in enumerate(LAYERS):
    if module in names or any(module.startswith(f"{n}.") for n in names if n != LIBRARY):
      return rank
  return None


def upward_imports(g: Graph) -> List[str]:
  """The library's imports from a lower layer to a higher one, and its modules in no layer."""
  problems = []
  for module, targets in sorted(g.edges().items()):
    rank = _layer(module)
    if rank is None:
      problems.append(f"{module}: in no layer (add it to LAYERS in tests/test_structure.py)")
      continue
    problems += [
      f"{module} -> {target}: imports upward"
      for target in sorted(targets)
      if (_layer(target) or 0) > rank
    ]
  return problems


# --------------------------------------------------------------------------------- the checks


@pytest.mark.parametrize("directory", DIRECTORIES)
def test_no_import_cycles(directory):
  found = cycles(graph(ROOT / directory))
  assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


@pytest.mark.parametrize("directory", DIRECTORIES)
def test_no_module_uses_another_modules_private_names(directory):
  problems = private_uses(graph(ROOT / directory))
  assert not problems, "private names used across modules:\n" + "\n".join(problems)


@pytest.mark.parametrize("directory", [d for d in DIRECTORIES if d != LIBRARY])
def test_only_public_library_names_outside_the_library(directory):
  problems = private_library_uses(graph(ROOT / directory))
  assert not problems, "private jaxsched modules or names used:\n" + "\n".join(problems)


def test_library_imports_downward():
  problems = upward_imports(graph(ROOT / LIBRARY))
  assert not problems, "\n".join(problems)


# ---------------------------------------------------- the checks find what they look for


def _write(root: pathlib.Path, files: Dict[str, str]) -> None:
  for name, text in files.items():
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def tmp_root(tmp_path, monkeypatch):
  """An empty project root (with the real library's modules known)."""
  library = _library_modules()
  monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
  monkeypatch.setattr(sys.modules[__name__], "_library_modules", lambda: library)
  return tmp_path


def test_a_cycle_through_function_level_and_relative_imports_is_found(tmp_root):
  _write(
    tmp_root,
    {
      "pkg/__init__.py": "from pkg.sub import _a\n",
      "pkg/sub/__init__.py": "",
      "pkg/sub/_a.py": "from . import _b\n",
      "pkg/sub/_b.py": "def f():\n  from ..sub import _c\n",
      "pkg/sub/_c.py": "def g():\n  import pkg.sub._a\n",
      "pkg/sub/_d.py": "from pkg.sub import _a\n",
    },
  )
  g = graph(tmp_root / "pkg")
  assert g.edges()["pkg.sub._b"] == {"pkg.sub._c"}
  assert cycles(g) == [["pkg.sub._a", "pkg.sub._b", "pkg.sub._c", "pkg.sub._a"]]
  _write(tmp_root, {"pkg/sub/_c.py": "def g():\n  import pkg.sub\n"})
  assert cycles(graph(tmp_root / "pkg")) == []


def test_private_names_across_modules_are_found(tmp_root):
  _write(
    tmp_root,
    {
      "pkg/__init__.py": "",
      "pkg/_a.py": "_X = 1\nY = 2\ndef _f(): pass\n",
      "pkg/_b.py": "from pkg._a import _f\nfrom pkg._a import Y\n",
      "pkg/_c.py": "from pkg import _a\n\ndef g():\n  return _a._X + _a.Y + _a.__name__\n",
      "pkg/_d.py": "import pkg._a as a\nimport pkg\nz = a._X, pkg._a._f, pkg._a.Y\n",
      "pkg/_e.py": "from pkg._a import Y\n_Z = 3\nw = _Z, Y._hidden\n",
    },
  )
  assert private_uses(graph(tmp_root / "pkg")) == [
    "pkg/_b.py:1: pkg._b imports pkg._a._f",
    "pkg/_c.py:4: pkg._c uses pkg._a._X",
    "pkg/_d.py:3: pkg._d uses pkg._a._X",
    "pkg/_d.py:3: pkg._d uses pkg._a._f",
  ]


def test_private_library_names_outside_the_library_are_found(tmp_root):
  _write(
    tmp_root,
    {
      "outside/ok.py": "import jaxsched\nprint(jaxsched.warmup_cosine, jaxsched.__version__)\n",
      "outside/a.py": "from jaxsched.schedules import _decay\nfrom jaxsched import registry\n",
      "outside/b.py": "def f():\n  from jaxsched import _plotting\n  return _plotting.plot\n",
      "outside/c.py": "import jaxsched\nx = jaxsched._catalog.REGISTRY\n",
      "outside/d.py": "import jaxsched.tools._cli as cli\n",
    },
  )
  assert private_library_uses(graph(tmp_root / "outside")) == [
    "outside/a.py:1: a imports jaxsched.schedules._decay",
    "outside/b.py:2: b imports jaxsched._plotting",
    "outside/b.py:3: b uses jaxsched._plotting.plot",
    "outside/c.py:2: c uses jaxsched._catalog.REGISTRY",
    "outside/d.py:1: d imports jaxsched.tools._cli",
  ]


def test_an_upward_import_is_found():
  g = graph(ROOT / LIBRARY)
  torch = "jaxsched.porting._torch"
  wrong = Import("jaxsched.schedules._decay", g.modules[torch], 1, torch, None, "_torch", torch)
  assert upward_imports(g._replace(imports=[*g.imports, wrong])) == [
    f"jaxsched.schedules._decay -> {torch}: imports upward"
  ]


def main(argv: List[str]) -> int:
  """Prints each module of the directories with the project modules it imports."""
  for directory in argv or [LIBRARY]:
    g = graph(ROOT / directory)
    print(f"# {directory}/")
    targets: Dict[str, Set[str]] = {m: set() for m in g.modules}
    for imp in g.imports:
      if imp.target in g.known and imp.target != imp.importer:
        targets[imp.importer].add(imp.target)
    for module, imported in sorted(targets.items()):
      print(f"{module} -> {', '.join(sorted(imported)) or '-'}")
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
