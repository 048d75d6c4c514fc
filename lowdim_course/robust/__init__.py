"""Lecture 5, robust training under label noise: over-parameterised networks memorise wrong
labels; label noise is a sparse corruption, and sparse over-parameterisation (SOP, Liu, Zhu, Qu &
You 2022) models it with per-sample terms u_i * u_i - v_i * v_i whose implicit bias is sparse
(Vaskevicius, Kanade & Rebeschini 2019; Zhao, Yang & He 2019).

- `noise`: symmetric and asymmetric label noise, the noisy digits, CIFAR-10N's human label sets;
- `published`: the seed's CIFAR-10N table of published results (every method, its family and
  citation), set beside the course's own full-profile runs;
- `hadamard`: the linear model y = J theta* + s*, gradient descent with the Hadamard product
  u o u - v o v, its effective l1 weight, the convex l1 problem it approaches as tau -> 0 and
  the exact implicit problem it solves at finite tau;
- `sop`: SOP's per-sample corrections for networks (the paper's, `SOP`, and a logit-space
  comparison, `LogitSOP`), the ROC AUC of ||s_i||, and training with noisy labels through
  `train.train`;
- `experiments`: `robust_linear`, `robust_lambda`, `robust_overfitting`, `robust_sop`, the
  `EXPERIMENTS` dict and
  the lecture's claims about them (`check_*`, the `CHECKS` dict);
- `sensitivity`: how the Hadamard trick depends on its own knobs (the rates of u and v, the
  initial scale), swept in the linear model (a notebook computation with its check);
- `knobs`: the same knobs on SOP's network, one at a time around the working setting;
- `plots`: their figures.
"""

from .experiments import (
    CHECKS,
    EXPERIMENTS,
    LAMBDA_FIGURES,
    LINEAR_FIGURES,
    OVERFITTING_FIGURES,
    SOP_FIGURES,
    LambdaConfig,
    LinearConfig,
    NoisyTrainingConfig,
    OverfittingConfig,
    SOPConfig,
    check_lambda,
    check_linear,
    check_overfitting,
    check_sop,
    run_lambda,
    run_linear,
    run_overfitting,
    run_sop,
)
from .hadamard import (
    DTYPE,
    effective_l1_weight,
    hadamard_gd,
    hadamard_regularized,
    l1_regularized,
    linear_problem,
)
from .knobs import KNOB_SETTINGS, check_knobs, knob_sweep, plot_knobs
from .noise import (
    CIFAR10_FLIPS,
    CIFAR10N_SETS,
    DIGITS_FLIPS,
    asymmetric_noise,
    load_cifar10n,
    noisy_data,
    standardized_digits,
    symmetric_noise,
)
from .plots import plot_lambda, plot_linear, plot_overfitting, plot_sensitivity, plot_sop
from .published import (
    CIFAR10N_NOISE_RATES,
    CIFAR10N_PUBLISHED,
    CIFAR10N_TABLE,
    FAMILIES,
    check_published,
    course_rows,
    markdown_table,
    mean_std,
)
from .sensitivity import check_sensitivity, hadamard_gd_many, sensitivity_sweep
from .sop import SOP, LogitSOP, build_network, memorisation_probe, roc_auc, train_with_noise

__all__ = [
    "CHECKS",
    "CIFAR10N_NOISE_RATES",
    "CIFAR10N_PUBLISHED",
    "CIFAR10N_SETS",
    "CIFAR10N_TABLE",
    "FAMILIES",
    "CIFAR10_FLIPS",
    "DIGITS_FLIPS",
    "DTYPE",
    "EXPERIMENTS",
    "LAMBDA_FIGURES",
    "LINEAR_FIGURES",
    "OVERFITTING_FIGURES",
    "SOP",
    "SOP_FIGURES",
    "LambdaConfig",
    "LinearConfig",
    "LogitSOP",
    "NoisyTrainingConfig",
    "OverfittingConfig",
    "SOPConfig",
    "asymmetric_noise",
    "build_network",
    "check_lambda",
    "check_linear",
    "check_overfitting",
    "check_sensitivity",
    "KNOB_SETTINGS",
    "check_knobs",
    "knob_sweep",
    "plot_knobs",
    "check_sop",
    "course_rows",
    "effective_l1_weight",
    "hadamard_gd",
    "hadamard_gd_many",
    "hadamard_regularized",
    "l1_regularized",
    "linear_problem",
    "load_cifar10n",
    "markdown_table",
    "check_published",
    "mean_std",
    "memorisation_probe",
    "noisy_data",
    "plot_lambda",
    "plot_linear",
    "plot_overfitting",
    "plot_sensitivity",
    "plot_sop",
    "roc_auc",
    "run_lambda",
    "run_linear",
    "run_overfitting",
    "run_sop",
    "sensitivity_sweep",
    "standardized_digits",
    "symmetric_noise",
    "train_with_noise",
]
