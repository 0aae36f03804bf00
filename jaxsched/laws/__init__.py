"""Loss-curve laws: what a learning-rate schedule will do to the loss.

Fit a law to one or two measured curves (:func:`fit_loss_law`), predict the
loss curve of any other schedule (:meth:`LossLaw.predict`), check it on
curves held out of the fit (:func:`evaluate_law`), and find the schedule the
law expects to end lowest (:func:`optimize_schedule`). :func:`load_curves`
reads the curves of a study's ``metrics.jsonl``.
"""

from jaxsched.laws._areas import lr_areas
from jaxsched.laws._areas import LRAreas
from jaxsched.laws._evaluate import evaluate_law
from jaxsched.laws._evaluate import LawError
from jaxsched.laws._fit import fit_loss_law
from jaxsched.laws._law import KINDS
from jaxsched.laws._law import LossLaw
from jaxsched.laws._optimize import optimize_schedule
from jaxsched.laws._optimize import OptimizedSchedule
from jaxsched.laws._records import load_curves

__all__ = (
  "KINDS",
  "LRAreas",
  "LawError",
  "LossLaw",
  "OptimizedSchedule",
  "evaluate_law",
  "fit_loss_law",
  "load_curves",
  "lr_areas",
  "optimize_schedule",
)
