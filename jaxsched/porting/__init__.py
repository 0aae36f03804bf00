"""Porting between PyTorch / transformers / timm / pytorch_optimizer schedulers and jaxsched.

:func:`jaxsched.from_torch` turns a live ``torch.optim.lr_scheduler`` object, a
transformers schedule (a ``LambdaLR``), a timm or pytorch_optimizer scheduler,
or the ``state_dict`` one of them saved, into the equivalent jaxsched schedule;
:func:`jaxsched.to_torch` goes the other way;
:func:`jaxsched.get_scheduler` is transformers' ``get_scheduler`` by name;
:func:`jaxsched.compare` measures how far two schedules are apart.

One module per job: ``_torch.py`` (from_torch and torch's classes),
``_transformers.py`` (transformers' schedules), ``_timm.py``,
``_pytorch_optimizer.py``, ``_plateau.py`` (ReduceLROnPlateau with its state),
``_saved.py`` (a scheduler rebuilt from its ``state_dict``), ``_to_torch.py``,
``_compare.py``; ``_objects.py`` and ``_tabulate.py`` hold what they share.
torch, transformers, timm and pytorch_optimizer are never imported.
"""

from jaxsched.porting._compare import compare
from jaxsched.porting._compare import Comparison
from jaxsched.porting._plateau import PlateauConversion
from jaxsched.porting._to_torch import to_torch
from jaxsched.porting._torch import from_torch
from jaxsched.porting._torch import LearningRateAndMomentum
from jaxsched.porting._transformers import get_scheduler

__all__ = (
  "Comparison",
  "LearningRateAndMomentum",
  "PlateauConversion",
  "compare",
  "from_torch",
  "get_scheduler",
  "to_torch",
)
