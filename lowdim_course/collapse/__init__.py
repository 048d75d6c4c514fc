"""Lecture 3, neural collapse: the geometry of last-layer features and classifiers at the end
of training, the unconstrained features model (UFM) that explains it, and what it is good for
(a fixed simplex-ETF classifier, d = K features, the choice of loss, transfer).

- geometry.py: the simplex ETF and `nc_metrics` (NC1-NC4; the definitions of every metric);
- losses.py: cross-entropy, focal, label smoothing and MSE, per sample;
- ufm.py: the UFM objective and gradient descent on it; optimizers.py: the same objective
  solved by SGD, Adam and L-BFGS; landscape.py: a non-global critical point, the gradient in
  the logits and the curvature along a direction (the two-step landscape proof's exercise);
- networks.py: the lecture's networks (built by `models.build`, trained by `train.train`), a
  fixed ETF classifier, and the per-epoch NC measurements;
- transfer.py: the few-shot linear probe on held-out classes;
- experiments.py, experiments_uses.py, experiments_transfer.py, experiments_optimizers.py,
  experiments_width.py: configs, `run_*`, the
  `check_*` of the lecture's claims beside each, `EXPERIMENTS` and `CHECKS`; plots.py: figures.

Experiments (quick profile: scikit-learn digits or free features, CPU, one torch thread):
- `collapse_tpt`: an MLP (3 x 256, BatchNorm) trained past zero training error; NC1 between
  the first epoch at 100% training accuracy and the end. Full: ResNet18 on CIFAR-10, SGD lr
  0.05, momentum 0.9, weight decay 5e-4, batch 128, 200 epochs, lr x 0.2 every 40 epochs, no
  augmentation (the settings of Zhu et al. 2021).
- `collapse_ufm`: gradient descent (heavy-ball momentum) on the UFM from many random starts for
  several K and feature dimensions d: every start should reach the same objective and, when
  d >= K - 1, a simplex ETF; when d < K - 1 the features still collapse but cannot be
  equiangular.
- `collapse_fixed_etf`: a learned classifier on 256-d features vs a fixed simplex ETF on 256-d
  and on d = K = 10 features: test accuracy and trained parameters.
- `collapse_losses`: cross-entropy, focal, label smoothing and MSE, in the UFM and in MLPs.
- `collapse_random_labels`: digits with random labels: memorised, chance test accuracy, and
  NC1 still falls.
- `collapse_transfer`: MLPs pretrained (several variants, several checkpoints each) on digits
  0-4; on the held-out digits 5-9, NC1 of the features (on one half of their training samples)
  against the 5-shot linear-probe accuracy (shots drawn from the other half, scored on their
  test set).
- `collapse_optimizers`: the UFM (K = 10, d = 20 > K) solved by gradient descent, minibatch
  SGD, Adam and L-BFGS from the same random starts: every one ends collapsed, at a simplex ETF
  and at the same objective; mean and spread over the starts.
- `collapse_width`: random labels across MLP widths (memorised and collapsed only when wide
  enough), and the losses' test accuracies over width and training length (they agree only
  when the network is wide enough and trained long enough).
- `collapse_finetune`: an MLP pretrained on digits 0-4 (full: ResNet18 on CIFAR-10 classes
  0-4) adapted to the other five classes by linear probing, one-layer fine-tuning, SCL-FT and
  full fine-tuning: accuracy, NC1, parameters tuned, layer-wise NC1 (finetune.py).

Computations on features run in float64.
"""

from .experiments import (
    CHECKS,
    EXPERIMENTS,
    RandomLabelsConfig,
    TPTConfig,
    UFMConfig,
    check_random_labels,
    check_tpt,
    check_ufm,
    run_random_labels,
    run_tpt,
    run_ufm,
)
from .experiments_finetune import FineTuneConfig, check_finetune, run_finetune
from .experiments_optimizers import OptimizersConfig, check_optimizers, run_optimizers
from .experiments_transfer import TransferConfig, check_transfer, run_transfer
from .experiments_uses import (
    FixedETFConfig,
    LossesConfig,
    check_fixed_etf,
    check_losses,
    run_fixed_etf,
    run_losses,
)
from .experiments_width import WidthConfig, check_width, run_width
from .finetune import METHOD_NAMES, METHODS, FineTuned, layers_of, tuned_fraction
from .geometry import DTYPE, class_mean_cosines, etf_gram, nc_metrics, simplex_etf
from .landscape import embedded_critical_point, logit_gradient, ufm_curvature, ufm_gradient_norm
from .losses import LOSS_NAMES, LOSS_SHORT, LOSSES, loss_function, per_sample_loss
from .networks import (
    FULL_TRAIN,
    MODELS,
    QUICK_TRAIN,
    NetworkConfig,
    build_model,
    fix_classifier,
    nc_epochs,
    nc_hook,
    nc_probe,
    network_cosines,
    network_nc,
    terminal_phase,
    train_network,
)
from .optimizers import OPTIMIZER_NAMES, OPTIMIZERS, solve_ufm
from .plots import (
    plot_finetune,
    plot_fixed_etf,
    plot_losses,
    plot_optimizers,
    plot_random_labels,
    plot_tpt,
    plot_tpt_cosines,
    plot_transfer,
    plot_ufm,
    plot_ufm_geometry,
    plot_width,
)
from .transfer import class_subset, few_shot_accuracy, ridge_probe
from .ufm import log_steps, train_ufm, ufm_objective, worst_start

__all__ = [
    "CHECKS",
    "DTYPE",
    "EXPERIMENTS",
    "FULL_TRAIN",
    "LOSSES",
    "LOSS_NAMES",
    "LOSS_SHORT",
    "METHODS",
    "METHOD_NAMES",
    "MODELS",
    "OPTIMIZERS",
    "OPTIMIZER_NAMES",
    "QUICK_TRAIN",
    "FineTuneConfig",
    "FineTuned",
    "FixedETFConfig",
    "LossesConfig",
    "NetworkConfig",
    "OptimizersConfig",
    "RandomLabelsConfig",
    "TPTConfig",
    "TransferConfig",
    "UFMConfig",
    "WidthConfig",
    "build_model",
    "check_finetune",
    "check_fixed_etf",
    "check_losses",
    "check_optimizers",
    "check_random_labels",
    "check_tpt",
    "check_transfer",
    "check_ufm",
    "check_width",
    "class_mean_cosines",
    "class_subset",
    "embedded_critical_point",
    "etf_gram",
    "few_shot_accuracy",
    "fix_classifier",
    "layers_of",
    "log_steps",
    "logit_gradient",
    "loss_function",
    "nc_epochs",
    "nc_hook",
    "nc_metrics",
    "nc_probe",
    "network_cosines",
    "network_nc",
    "per_sample_loss",
    "plot_finetune",
    "plot_fixed_etf",
    "plot_losses",
    "plot_optimizers",
    "plot_random_labels",
    "plot_tpt",
    "plot_tpt_cosines",
    "plot_transfer",
    "plot_ufm",
    "plot_ufm_geometry",
    "plot_width",
    "ridge_probe",
    "run_finetune",
    "run_fixed_etf",
    "run_losses",
    "run_optimizers",
    "run_random_labels",
    "run_tpt",
    "run_transfer",
    "run_ufm",
    "run_width",
    "simplex_etf",
    "solve_ufm",
    "terminal_phase",
    "train_network",
    "train_ufm",
    "tuned_fraction",
    "ufm_curvature",
    "ufm_gradient_norm",
    "ufm_objective",
    "worst_start",
]
