"""The machine a study ran on: processor, cores, accelerator, library versions, XLA flags.

Written into each study's ``config.json`` and ``results.md``, so a result names
where it was measured and ``--reproduce`` can set two machines side by side.
"""

import importlib.metadata
import os
import pathlib
import platform

import jax

PACKAGES = ("jax", "jaxlib", "flax", "optax", "numpy", "jaxsched")


def cpu_model() -> str:
  """The processor's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``)."""
  cpuinfo = pathlib.Path("/proc/cpuinfo")
  if cpuinfo.exists():
    for line in cpuinfo.read_text(errors="replace").splitlines():
      if line.lower().startswith("model name"):
        return line.split(":", 1)[1].strip()
  return platform.processor() or platform.machine() or "unknown"


def _version(package: str) -> str:
  try:
    return importlib.metadata.version(package)
  except importlib.metadata.PackageNotFoundError:
    return "not installed"


def describe() -> dict:
  """``{cpu, cores, backend, devices, python, <package>: version, xla_flags}`` of this machine."""
  devices = jax.devices()
  return {
    "cpu": cpu_model(),
    "cores": os.cpu_count(),
    "backend": jax.default_backend(),
    "devices": f"{len(devices)} x {devices[0].device_kind}",
    "python": platform.python_version(),
    **{package: _version(package) for package in PACKAGES},
    "xla_flags": os.environ.get("XLA_FLAGS", ""),
  }


def line(machine: dict) -> str:
  """One line naming the machine, for results tables."""
  if not machine:
    return "not recorded"
  flags = f", XLA_FLAGS={machine['xla_flags']}" if machine.get("xla_flags") else ""
  return (
    f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
    f"{machine.get('backend', '?')} ({machine.get('devices', '?')}); "
    f"jax {machine.get('jax', '?')}, jaxlib {machine.get('jaxlib', '?')}, "
    f"flax {machine.get('flax', '?')}{flags}"
  )
