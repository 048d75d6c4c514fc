"""Lecture 3, neural collapse: the geometry of last-layer features and classifiers at the end
of training, the unconstrained features model (UFM) that explains it, and what it is good for
(a fixed simplex-ETF classifier, d = K features, the choice of loss, transfer).

- geometry.py: the simplex ETF and `nc_metrics` (NC1-NC4; the definitions of every metric);
- losses.py: cross-entropy, focal, label smoothing and MSE, per sample;
- ufm.py: gradient descent on the unconstrained features model;
- networks.py: the lecture's networks (built by `models.build`, trained by `train.train`), a
  fixed ETF classifier, and the per-epoch NC measurements;
- transfer.py: the few-shot linear probe on held-out classes;
- experiments.py, experiments_uses.py, experiments_transfer.py: configs, `run_*`, the
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
from .experiments_transfer import TransferConfig, check_transfer, run_transfer
from .experiments_uses import (
    FixedETFConfig,
    LossesConfig,
    check_fixed_etf,
    check_losses,
    run_fixed_etf,
    run_losses,
)
from .geometry import DTYPE, class_mean_cosines, etf_gram, nc_metrics, simplex_etf
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
from .plots import (
    plot_fixed_etf,
    plot_losses,
    plot_random_labels,
    plot_tpt,
    plot_tpt_cosines,
    plot_transfer,
    plot_ufm,
    plot_ufm_geometry,
)
from .transfer import class_subset, few_shot_accuracy, ridge_probe
from .ufm import log_steps, train_ufm, worst_start

__all__ = [
    "CHECKS",
    "DTYPE",
    "EXPERIMENTS",
    "FULL_TRAIN",
    "LOSSES",
    "LOSS_NAMES",
    "LOSS_SHORT",
    "MODELS",
    "NetworkConfig",
    "QUICK_TRAIN",
    "FixedETFConfig",
    "LossesConfig",
    "RandomLabelsConfig",
    "TPTConfig",
    "TransferConfig",
    "UFMConfig",
    "build_model",
    "check_fixed_etf",
    "check_losses",
    "check_random_labels",
    "check_transfer",
    "check_tpt",
    "check_ufm",
    "class_mean_cosines",
    "class_subset",
    "etf_gram",
    "few_shot_accuracy",
    "fix_classifier",
    "log_steps",
    "loss_function",
    "nc_epochs",
    "nc_hook",
    "nc_metrics",
    "nc_probe",
    "network_cosines",
    "network_nc",
    "per_sample_loss",
    "plot_fixed_etf",
    "plot_losses",
    "plot_random_labels",
    "plot_tpt",
    "plot_tpt_cosines",
    "plot_transfer",
    "plot_ufm",
    "plot_ufm_geometry",
    "ridge_probe",
    "run_fixed_etf",
    "run_losses",
    "run_random_labels",
    "run_transfer",
    "run_tpt",
    "run_ufm",
    "simplex_etf",
    "terminal_phase",
    "train_network",
    "train_ufm",
    "worst_start",
]
