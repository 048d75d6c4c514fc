"""Lecture 1, sparse recovery and nonconvex optimisation: the lasso and its proximal algorithms,
basis pursuit and its phase transition, low-rank matrix completion (convex and factored),
dictionary learning on the sphere, and ISTA unrolled into a network with ReLU activations.

Modules, one idea each:
- `problems`: random Gaussian matrices and sparse codes, and the float64 batch convention;
- `proximal`: soft thresholding, the lasso objective, ISTA and FISTA, their rate bounds;
- `phase_transition`: basis pursuit, one recovery trial, the empirical phase transition and
  the weak threshold from the statistical dimension of the l1 descent cone;
- `sample_complexity`: the law m >~ 2k log(n/k) from the statistical dimension, its
  second-order expansion and its curve on the phase-transition figure;
- `completion`: nuclear-norm completion (ADMM with singular value thresholding) and
  Burer-Monteiro factorisation;
- `dictionary`: orthogonal dictionary learning by Riemannian gradient descent on the sphere,
  the bias of the smoothed objective's minimisers and the LP rounding that removes it;
- `thresholding`: one-step and layered thresholding as a ReLU network's forward pass, and
  how often one thresholding step finds a sparse code's support;
- `unrolled`: ISTA unrolled into a network (LISTA) and its training;
- `experiments` (and `experiments_unrolled`): configs, `run_*` and the `EXPERIMENTS` registry
  entries; `plots`: figures;
- `checks`: the lecture's claims, `check_*(result, profile)` per experiment, and `CHECKS`.

A notebook writes `from lowdim_course import sparse` and uses the names below, e.g.
`sparse.run_rates(sparse.RatesConfig.quick())`, `sparse.plot_rates(result)` and
`sparse.check_rates(result, "quick")`.
"""

from .checks import (
    CHECKS,
    check_completion,
    check_dictionary,
    check_phase_transition,
    check_rates,
    check_unrolled,
)
from .completion import (
    burer_monteiro_complete,
    nuclear_norm_complete,
    relative_error,
    singular_value_threshold,
)
from .dictionary import (
    check_preconditioning,
    column_distance,
    logcosh,
    lp_rounding,
    match_columns,
    orthogonal_dictionary_problem,
    orthogonality_defect,
    preconditioner,
    riemannian_gradient_descent,
    smoothing_bias,
    sphere_landscape,
    sphere_objective,
    to_azimuth_elevation,
)
from .experiments import (
    COMPLETION_FIGURES,
    DICTIONARY_FIGURES,
    EXPERIMENTS,
    PHASE_FIGURES,
    RATES_FIGURES,
    UNROLLED_FIGURES,
    CompletionConfig,
    DictionaryConfig,
    PhaseConfig,
    RatesConfig,
    UnrolledConfig,
    run_completion,
    run_dictionary,
    run_phase_transition,
    run_rates,
    run_unrolled,
)
from .phase_transition import (
    basis_pursuit,
    basis_pursuit_trial,
    fifty_percent_rho,
    l1_phase_transition,
    l1_statistical_dimension,
    weak_threshold,
)
from .plots import (
    plot_completion,
    plot_dictionary,
    plot_dictionary_landscape,
    plot_phase_transition,
    plot_rates,
    plot_sample_complexity_law,
    plot_thresholding,
    plot_unrolled,
)
from .problems import DTYPE, gaussian_matrix, sparse_codes
from .proximal import (
    fista,
    fista_bound,
    ista,
    ista_bound,
    lasso_objective,
    lasso_optimum,
    lipschitz_constant,
    proximal_gradient,
    soft_threshold,
)
from .sample_complexity import (
    check_sample_complexity_law,
    klogn_law,
    law_curve,
    sample_complexity_law,
    statdim_expansion,
)
from .thresholding import (
    check_thresholding,
    coherence,
    layered_thresholding,
    thresholding_layer,
    thresholding_network,
    thresholding_study,
    unit_norm_dictionary,
)
from .unrolled import UnrolledISTA, nmse, train_unrolled

__all__ = [
    "CHECKS",
    "COMPLETION_FIGURES",
    "CompletionConfig",
    "DICTIONARY_FIGURES",
    "DTYPE",
    "DictionaryConfig",
    "EXPERIMENTS",
    "PHASE_FIGURES",
    "PhaseConfig",
    "RATES_FIGURES",
    "RatesConfig",
    "UNROLLED_FIGURES",
    "UnrolledConfig",
    "UnrolledISTA",
    "basis_pursuit",
    "basis_pursuit_trial",
    "burer_monteiro_complete",
    "check_completion",
    "check_dictionary",
    "check_phase_transition",
    "check_preconditioning",
    "check_rates",
    "check_sample_complexity_law",
    "check_thresholding",
    "check_unrolled",
    "coherence",
    "column_distance",
    "fifty_percent_rho",
    "fista",
    "fista_bound",
    "gaussian_matrix",
    "ista",
    "ista_bound",
    "klogn_law",
    "l1_phase_transition",
    "l1_statistical_dimension",
    "lasso_objective",
    "lasso_optimum",
    "law_curve",
    "layered_thresholding",
    "lipschitz_constant",
    "logcosh",
    "lp_rounding",
    "match_columns",
    "nmse",
    "nuclear_norm_complete",
    "orthogonal_dictionary_problem",
    "orthogonality_defect",
    "plot_completion",
    "plot_dictionary",
    "plot_dictionary_landscape",
    "plot_phase_transition",
    "plot_rates",
    "plot_sample_complexity_law",
    "plot_thresholding",
    "plot_unrolled",
    "preconditioner",
    "proximal_gradient",
    "relative_error",
    "riemannian_gradient_descent",
    "run_completion",
    "run_dictionary",
    "run_phase_transition",
    "run_rates",
    "run_unrolled",
    "sample_complexity_law",
    "singular_value_threshold",
    "smoothing_bias",
    "soft_threshold",
    "sparse_codes",
    "sphere_landscape",
    "sphere_objective",
    "statdim_expansion",
    "thresholding_layer",
    "thresholding_network",
    "thresholding_study",
    "to_azimuth_elevation",
    "train_unrolled",
    "unit_norm_dictionary",
    "weak_threshold",
]
