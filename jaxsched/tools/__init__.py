"""Tools around the schedules: the LR range test, inspection and plots, the command line.

``_finder.py`` (lr_find), ``_plotting.py`` (inspect, plot, plot_law; matplotlib
imported when drawing), ``_cli.py`` (the ``jaxsched`` command, ``python -m jaxsched``).
"""

from jaxsched.tools._finder import lr_find
from jaxsched.tools._finder import LRFinderResult
from jaxsched.tools._plotting import inspect
from jaxsched.tools._plotting import plot
from jaxsched.tools._plotting import plot_law
from jaxsched.tools._plotting import ScheduleSummary

__all__ = (
  "LRFinderResult",
  "ScheduleSummary",
  "inspect",
  "lr_find",
  "plot",
  "plot_law",
)
