"""Lecture 2, classifying data on manifolds: the two-manifold problem, the neural tangent kernel
(NTK) of a deep ReLU network, and depth, width and data as resources (Buchanan, Gilboa & Wright
2021; Wang, Buchanan, Gilboa & Wright 2021).

The model problem: two curves M+ and M- on the unit sphere S^{n0-1}; train a fully connected ReLU
network by gradient descent on the square loss over N samples until sign f(x) = y(x) on the
whole of both curves. What makes it hard is geometry: the separation Delta between the curves
and their curvature kappa.

- `curves`: the curve pairs on the sphere, their separation and geodesic curvature;
- `ntk`: the network (`ReLUNet`, two parametrisations), its empirical and analytic NTK, the
  angle map;
- `dynamics`: the kernel flow, certificates, gradient descent and its linearised prediction;
- `experiments`: the configs, `run_*` and the `EXPERIMENTS` the registry reads;
- `checks`: the lecture's claims, `check_*(result, profile)`, and the `CHECKS` the registry reads;
- `plots`: the figures, `plot_*` of a result dict.

A notebook writes `from lowdim_course import manifolds as mf` and `mf.run_ntk(...)`.
"""

from .checks import CHECKS, check_depth, check_ntk, check_resources, check_training
from .curves import (
    DTYPE,
    PAIRS,
    Curve,
    CurvePair,
    circles,
    curvature_of,
    geodesic_curvature,
    great_circle,
    latitude_circle,
    named_pair,
    separation_of,
    wavy_pair,
    winding_pair,
    winding_radius,
)
from .dynamics import (
    certificate,
    classify_by_kernel_flow,
    dense_errors,
    fit_network,
    kernel_flow,
    kernel_flow_errors,
    kernel_movement,
    kernel_prediction,
    linearized_errors,
    population_certificates,
    train_gd,
)
from .experiments import (
    DEPTH_FIGURES,
    EXPERIMENTS,
    HOMOGENEOUS_PAIRS,
    NTK_FIGURES,
    RESOURCE_MODELS,
    RESOURCES_FIGURES,
    TRAINING_FIGURES,
    DepthConfig,
    NtkConfig,
    ResourcesConfig,
    TrainingConfig,
    curve_lengths,
    kernel_trial,
    network_trial,
    required_depths,
    required_times,
    run_depth,
    run_ntk,
    run_resources,
    run_training,
)
from .ntk import (
    PARAMETRIZATIONS,
    ReLUNet,
    analytic_ntk,
    angle_iterates,
    angle_map,
    angles_between,
    empirical_ntk,
    empirical_ntk_jacobian,
    half_width,
    hidden_layer_factor,
    nngp_kernel,
    ntk_at_zero,
    ntk_profile,
    ntk_profiles,
)
from .plots import (
    plot_decision,
    plot_depth,
    plot_ntk,
    plot_pairs,
    plot_resources,
    plot_training,
)

__all__ = [
    "CHECKS",
    "Curve",
    "CurvePair",
    "DEPTH_FIGURES",
    "DTYPE",
    "DepthConfig",
    "EXPERIMENTS",
    "HOMOGENEOUS_PAIRS",
    "NTK_FIGURES",
    "NtkConfig",
    "PAIRS",
    "PARAMETRIZATIONS",
    "RESOURCES_FIGURES",
    "RESOURCE_MODELS",
    "ReLUNet",
    "ResourcesConfig",
    "TRAINING_FIGURES",
    "TrainingConfig",
    "analytic_ntk",
    "angle_iterates",
    "angle_map",
    "angles_between",
    "certificate",
    "check_depth",
    "check_ntk",
    "check_resources",
    "check_training",
    "circles",
    "classify_by_kernel_flow",
    "curvature_of",
    "curve_lengths",
    "dense_errors",
    "empirical_ntk",
    "empirical_ntk_jacobian",
    "fit_network",
    "geodesic_curvature",
    "great_circle",
    "half_width",
    "hidden_layer_factor",
    "kernel_flow",
    "kernel_flow_errors",
    "kernel_movement",
    "kernel_prediction",
    "kernel_trial",
    "latitude_circle",
    "linearized_errors",
    "named_pair",
    "network_trial",
    "nngp_kernel",
    "ntk_at_zero",
    "ntk_profile",
    "ntk_profiles",
    "plot_decision",
    "plot_depth",
    "plot_ntk",
    "plot_pairs",
    "plot_resources",
    "plot_training",
    "population_certificates",
    "required_depths",
    "required_times",
    "run_depth",
    "run_ntk",
    "run_resources",
    "run_training",
    "separation_of",
    "train_gd",
    "wavy_pair",
    "winding_pair",
    "winding_radius",
]
