"""The seventh provider (``tests/seventh/``: issue 22's fixture), made ready for a test session.

Its spec is ``tests/seventh/specs/seventh/openapi.yaml``. ``generate(out)`` runs the project's
own generator (``codegen/generate.py``: openapi-python-client with ``codegen/templates``, and
datamodel-code-generator, both offline) on it into ``out``: the client package
``docstatus_seventh_client`` and the simulator's models ``seventh_simulator_models``. With
``out`` and ``tests/seventh`` on the path, ``seventh_provider`` (the library's provider module)
and ``seventh_simulator`` (the simulator's) import. Nothing generated is committed.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    import types

ROOT = Path(__file__).resolve().parent.parent
SEVENTH = ROOT / "tests" / "seventh"
SPEC = SEVENTH / "specs" / "seventh" / "openapi.yaml"


def codegen() -> types.ModuleType:
    """``codegen/generate.py`` (a script, not a package), imported once."""
    name = "docstatus_codegen_generate"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "codegen" / "generate.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@attrs.frozen(kw_only=True)
class Seventh:
    """The seventh provider, generated and imported.

    Attributes:
        provider: The library's provider module (``seventh_provider``).
        simulator: The simulator's provider module (``seventh_simulator``).
        path: The folders a process needs on its path to import both (``PYTHONPATH`` form).
    """

    provider: types.ModuleType
    simulator: types.ModuleType
    path: str

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """``base`` (else this process's environment) with ``path`` first on ``PYTHONPATH``."""
        env = dict(os.environ if base is None else base)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (self.path, env.get("PYTHONPATH"))))
        return env


def generate(out: Path) -> list[Path]:
    """Generate the seventh provider's client and simulator models into ``out``; the folders to
    put on the path."""
    gen = codegen()
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    packages = out / "packages"
    gen.generate_client("seventh", SPEC, packages, work)
    gen.generate_sim_models("seventh", SPEC, work)
    shutil.copyfile(work / gen.SIM_MODELS / "seventh.py", packages / "seventh_simulator_models.py")
    return [packages, SEVENTH]


def load(out: Path) -> Seventh:
    """Generate into ``out`` and import both modules; the folders stay on ``sys.path`` (the
    library imports the client's operation and ``client`` modules when it first polls)."""
    folders = [str(p) for p in generate(out)]
    sys.path[:0] = folders
    provider = importlib.import_module("seventh_provider")
    simulator = importlib.import_module("seventh_simulator")
    assert provider.__file__ == str(SEVENTH / "seventh_provider.py")
    assert simulator.__file__ == str(SEVENTH / "seventh_simulator.py")
    return Seventh(provider=provider, simulator=simulator, path=os.pathsep.join(folders))


def unload(seventh: Seventh) -> None:
    for folder in seventh.path.split(os.pathsep):
        if folder in sys.path:
            sys.path.remove(folder)
    for name in list(sys.modules):
        if name.startswith(("seventh_", "docstatus_seventh_client")):
            del sys.modules[name]
