"""How well a law predicts measured curves it was not fitted to."""

from typing import Any, Iterable, NamedTuple

import numpy as np

from jaxsched.laws import _fit
from jaxsched.laws import _law


class LawError(NamedTuple):
  """A law's prediction of one measured curve against the measurement.

  Attributes:
    final_step: the last measured step (the loss after that update).
    final_loss: the loss measured there.
    final_loss_predicted: the law's loss there.
    final_rel_error: ``(predicted - measured) / measured`` at the last step
      (signed: > 0 when the law expects a higher loss).
    curve_mape: the mean over every measured step of
      ``|predicted - measured| / measured`` (a fraction: 0.02 is 2%).
  """

  final_step: int
  final_loss: float
  final_loss_predicted: float
  final_rel_error: float
  curve_mape: float


def evaluate_law(law: _law.LossLaw, curves: Iterable[Any]) -> tuple:
  """The errors of ``law`` on measured curves, e.g. schedules held out of its fit.

  .. math::
    \\text{final\\_rel\\_error} = \\frac{\\hat L(t_n) - L(t_n)}{L(t_n)} \\qquad
    \\text{curve\\_mape} = \\frac{1}{n} \\sum_{i=1}^{n} \\frac{|\\hat L(t_i) - L(t_i)|}{L(t_i)}

  over the measured steps ``t_1 < ... < t_n`` of each curve (Wang et al.
  report a MAPE under 2% for the momentum law across model sizes).

  Args:
    law: a fitted :class:`LossLaw`.
    curves: ``(schedule or rates, steps, losses)`` triples, as for
      :func:`fit_loss_law`.

  Returns:
    A tuple of :class:`LawError`, one per curve, in order.

  Examples:
    >>> import numpy as np, jaxsched
    >>> law = jaxsched.LossLaw("momentum", dict(L0=2.0, A=1.0, alpha=0.5, C=2.0, decay=0.999), 0.0)
    >>> sched, steps = jaxsched.constant(1e-3), np.arange(100, 1000, 100)
    >>> measured = 1.01 * np.asarray(law.predict(sched, steps))
    >>> err = jaxsched.evaluate_law(law, [(sched, steps, measured)])[0]
    >>> round(err.final_rel_error, 4), round(err.curve_mape, 4)
    (-0.0099, 0.0099)

  References:
    Wang et al., 2025, Scaling and Transferability of Annealing Strategies in
    Large Language Model Training: https://arxiv.org/abs/2512.13705
  """
  fn = "evaluate_law"
  if not isinstance(law, _law.LossLaw):
    raise ValueError(f"{fn}: law={law!r} must be a LossLaw (from fit_loss_law)")
  out = []
  for curve in _fit.as_curves(fn, curves):
    order = np.argsort(curve.steps, kind="stable")
    steps, measured = curve.steps[order], curve.losses[order]
    predicted = np.asarray(law.predict(curve.lrs.astype(np.float32), steps), np.float64)
    rel = (predicted - measured) / measured
    out.append(
      LawError(
        int(steps[-1]),
        float(measured[-1]),
        float(predicted[-1]),
        float(rel[-1]),
        float(np.mean(np.abs(rel))),
      )
    )
  return tuple(out)
