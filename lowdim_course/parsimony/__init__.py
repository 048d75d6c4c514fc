"""Lecture 4, the law of parsimony in gradient descent: deep linear networks (DLNs) trained from
a small orthogonal initialisation learn only inside a low-dimensional invariant subspace (Yaras,
Wang et al. 2023); what it explains: progressive separation of features across layers (Wang et
al. 2023; He & Su 2022) and compressed training of deep matrix completion (Kwon et al. 2024).

- `deep_linear`: the eps-orthogonal initialisation, the end-to-end map and its gradients,
  full-batch gradient descent, the plateau length `plateau_steps`, and the measurements of the
  invariant subspace;
- `separation`: the separation measure D_l across layers, its log-linear fit and bound, and
  D_l of a ReLU MLP trained with the course's loop;
- `completion`: full, compressed and narrow deep matrix completion, and parameter counts;
- `subspaces`: principal angles, the subspaces predicted from the start, their dynamics over
  training, and orthogonal, Gaussian or uniform starts of one scale;
- `studies`: quick-profile studies with their checks (singular subspaces, kinds of start,
  the decay-speed trade-off, width on factorisation);
- `experiments`: the configs, `run_*`, `EXPERIMENTS` and the claims as code, `check_*` and
  `CHECKS` (the two separation experiments in `experiments_separation`); `plots`: the figures.

The notebook writes `from lowdim_course import parsimony as ps` and uses the names below.
"""

from .completion import (
    complete_compressed,
    complete_full,
    completion_fit,
    compressed_descent,
    compressed_step,
    error_history,
    parameter_counts,
    relative_error,
    spectral_factors,
)
from .deep_linear import (
    DTYPE,
    dln_backward,
    dln_forward,
    dln_gradients,
    end_to_end,
    gradient_descent,
    invariant_subspace,
    layer_spectra,
    low_rank_target,
    orthogonal_init,
    orthogonal_matrix,
    plateau_steps,
    train_dln,
)
from .experiments import (
    CHECKS,
    EXPERIMENTS,
    CompletionConfig,
    InvariantConfig,
    budget,
    check_completion,
    check_depth_sweep,
    check_invariant,
    completion_target,
    depth_sweep,
    run_completion,
    run_invariant,
)
from .experiments_separation import (
    MLPSeparationConfig,
    SeparationConfig,
    check_separation,
    check_separation_mlp,
    dln_separation,
    dln_steps,
    run_separation,
    run_separation_mlp,
)
from .plots import (
    plot_completion,
    plot_depth_sweep,
    plot_init,
    plot_invariant,
    plot_separation,
    plot_separation_mlp,
    plot_subspaces,
    plot_tradeoff,
    plot_width,
)
from .separation import (
    input_dim,
    layer_ratios,
    log_linear_fit,
    mlp_separation,
    orthogonal_classification_data,
    separation_bound,
    separation_by_layer,
    separation_ratio_range,
    standardised,
)
from .studies import (
    check_init,
    check_subspaces,
    check_tradeoff,
    check_width,
    init_study,
    subspace_study,
    tradeoff_study,
    width_study,
)
from .subspaces import (
    INIT_KINDS,
    initial_weights,
    predicted_subspaces,
    principal_angles,
    subspace_dynamics,
)

__all__ = [
    "CHECKS",
    "CompletionConfig",
    "DTYPE",
    "EXPERIMENTS",
    "INIT_KINDS",
    "InvariantConfig",
    "MLPSeparationConfig",
    "SeparationConfig",
    "budget",
    "check_completion",
    "check_depth_sweep",
    "check_init",
    "check_invariant",
    "check_separation",
    "check_separation_mlp",
    "check_subspaces",
    "check_tradeoff",
    "check_width",
    "complete_compressed",
    "complete_full",
    "completion_fit",
    "completion_target",
    "compressed_descent",
    "compressed_step",
    "depth_sweep",
    "dln_backward",
    "dln_forward",
    "dln_gradients",
    "dln_separation",
    "dln_steps",
    "end_to_end",
    "error_history",
    "gradient_descent",
    "init_study",
    "initial_weights",
    "input_dim",
    "invariant_subspace",
    "layer_ratios",
    "layer_spectra",
    "log_linear_fit",
    "low_rank_target",
    "mlp_separation",
    "orthogonal_classification_data",
    "orthogonal_init",
    "orthogonal_matrix",
    "parameter_counts",
    "plateau_steps",
    "plot_completion",
    "plot_depth_sweep",
    "plot_init",
    "plot_invariant",
    "plot_separation",
    "plot_separation_mlp",
    "plot_subspaces",
    "plot_tradeoff",
    "plot_width",
    "predicted_subspaces",
    "principal_angles",
    "relative_error",
    "run_completion",
    "run_invariant",
    "run_separation",
    "run_separation_mlp",
    "separation_bound",
    "separation_by_layer",
    "separation_ratio_range",
    "spectral_factors",
    "standardised",
    "subspace_dynamics",
    "subspace_study",
    "tradeoff_study",
    "train_dln",
    "width_study",
]
