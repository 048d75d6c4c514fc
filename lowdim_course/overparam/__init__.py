"""Lectures 6 (over-parameterisation) and 7 (learning-rate noise), one package: networks with more
parameters than samples fit anything, random labels included (Zhang et al. 2017), yet generalise
on real labels, and generalise better the wider they are (Zagoruyko & Komodakis 2016); wide
networks barely move their weights (the lazy or kernel regime: Jacot, Gabriel & Hongler 2018;
Chizat, Oyallon & Bach 2019); the noise of a large learning rate decides *which* patterns a
network learns first (Li, Wei & Ma 2019); and depth pays off on compositional targets (Poggio et
al. 2017).

The modules, in the lectures' order (`NOTEBOOKS` names the experiments of lecture 7's notebook,
`lectures/07_learning_rate_noise.ipynb`; the others are lecture 6's):
- `random_labels`: label randomisation and pixel shuffling;
- `lazy`: relative weight movement, the NTK-parametrised network and its linearisation, the
  log-log slope fit;
- `descent`: full-batch gradient descent, the loop of the lazy and compositional sweeps;
- `lr_noise`: the two-pattern data set, the CIFAR-10 patches, `BatchedMLP` and its seed sweep;
- `compositional`: the binary-tree target, the tree, shallow and deep networks, their fit and
  the parameters each needs;
- `experiments_capacity`, `experiments_lazy`, `experiments_lr_noise`, `experiments_noise_control`,
  `experiments_lr_noise_images`,
  `experiments_compositional`: configs,
  `run_*` and `check_*` (the lecture's claims, checked on a result); `experiments`: the
  `EXPERIMENTS` registry and its `CHECKS`; `plots`: one `plot_*` per experiment.

Experiments (quick profile: scikit-learn digits or generated data, CPU, one torch thread):
- `overparam_random_labels`: a one-hidden-layer MLP (1024 units) on 600 digits with 0, 25, 50,
  75, 100% random labels, with shuffled pixels and with random pixels: every condition is
  fitted, test accuracy falls to chance as the labels become random. Full: ResNet18 on
  CIFAR-10.
- `overparam_width`: one-hidden-layer MLPs of width 2 ... 4096 on digits: train and test error
  and the relative movement of the first layer against width. Full: WRN-40-k on CIFAR-10,
  k = 1, 2, 4, 8.
- `overparam_lazy`: two-layer networks in the NTK parametrisation, full-batch gradient descent
  on 128 digits to the same training loss: the log-log slope of the hidden weights' relative
  movement against width (theory -1/2) and the gap to the linearised model. Full: 1024 digits,
  widths 32 to 65,536, the slope also over the widths that reach the target loss.
- `overparam_lr_noise`: the two-pattern data set of Li, Wei & Ma (p = 50, N = 500, 20% P only,
  20% Q only); a 512-unit network whose halves read x1 and x2 apart, with leaky units; SGD
  with lr 1.5 decayed to 0.2 after 20% of 300 epochs against lr 0.2 throughout, five seeds
  held out from the design (5-9) trained together (`BatchedMLP`): when each schedule first fits
  the Q-only examples, and the final test accuracy on the P-only examples and on all. Full:
  p = 200, N = 2000, width 2048, ten seeds (5-14), still generated data (7 minutes on an idle
  2-core CPU).
- `overparam_lr_noise_control`: Li, Wei & Ma's control arm on the same data: the small rate with
  Gaussian noise (std 0.3) added to the pre-activations until the decay epoch, against the small
  rate without it, three seeds (5-7). Full: the lr-noise full scale on two seeds (5, 6).
- `overparam_lr_noise_images`: the same two kinds of schedule on real images: the slide's
  comparison and Li, Wei & Ma's patch experiment, here on the digits as 8x8 images with an
  MLP. Full: ResNet18 and WRN-16-10 on CIFAR-10 (download, GPU).
- `overparam_compositional`: a binary-tree compositional function of 8 variables, 1000
  training points, 500 full-batch Adam steps: relative test error against parameters for the
  tree-shaped deep network, a deep MLP and a shallow network.
"""

from .compositional import (
    TreeNetwork,
    compositional_target,
    deep_network,
    fit_regression,
    node_function,
    parameters_needed,
    shallow_network,
)
from .descent import GradientDescent, full_batch_descent
from .experiments import (
    CHECKS,
    COMPOSITIONAL_FIGURES,
    EXPERIMENTS,
    LAZY_FIGURES,
    LR_NOISE_CONTROL_FIGURES,
    LR_NOISE_FIGURES,
    LR_NOISE_IMAGES_FIGURES,
    NOTEBOOKS,
    RANDOM_LABELS_FIGURES,
    WIDTH_FIGURES,
)
from .experiments_capacity import (
    WRN_TABLE,
    RandomLabelsConfig,
    WidthConfig,
    check_random_labels,
    check_width,
    run_random_labels,
    run_width,
)
from .experiments_compositional import CompositionalConfig, check_compositional, run_compositional
from .experiments_lazy import LazyConfig, check_lazy, run_lazy
from .experiments_lr_noise import (
    LRNoiseConfig,
    TwoPatternConfig,
    check_lr_noise,
    check_more_samples,
    more_samples_per_dimension,
    run_lr_noise,
    run_two_patterns,
)
from .experiments_lr_noise_images import (
    ImagesConfig,
    LRNoiseImagesConfig,
    PatchConfig,
    check_lr_noise_images,
    load_images,
    lr_on_images,
    patch_experiment,
    run_lr_noise_images,
)
from .experiments_noise_control import (
    NoiseControlConfig,
    check_lr_noise_control,
    run_lr_noise_control,
)
from .lazy import NTKNetwork, fit_slope, linearized_output, model_at, relative_movement
from .lr_noise import (
    BOTH,
    KIND_NAMES,
    P_ONLY,
    Q_ONLY,
    BatchedMLP,
    PatchSpec,
    TwoPatternSpec,
    add_patches,
    check_two_pattern_data,
    evaluated_epochs,
    kind_accuracy,
    noisy_preactivations,
    patch_patterns,
    pattern_directions,
    train_sweep,
    two_pattern_data,
)
from .plots import (
    plot_compositional,
    plot_lazy,
    plot_lr_noise,
    plot_lr_noise_control,
    plot_lr_noise_images,
    plot_more_samples,
    plot_random_labels,
    plot_two_patterns,
    plot_width,
)
from .random_labels import randomize_labels, shuffle_pixels

__all__ = [
    # random labels
    "randomize_labels",
    "shuffle_pixels",
    "RandomLabelsConfig",
    "run_random_labels",
    "plot_random_labels",
    "check_random_labels",
    # width and the lazy regime
    "WRN_TABLE",
    "WidthConfig",
    "run_width",
    "plot_width",
    "check_width",
    "relative_movement",
    "NTKNetwork",
    "model_at",
    "linearized_output",
    "fit_slope",
    "GradientDescent",
    "full_batch_descent",
    "LazyConfig",
    "run_lazy",
    "plot_lazy",
    "check_lazy",
    # learning-rate noise
    "BOTH",
    "P_ONLY",
    "Q_ONLY",
    "KIND_NAMES",
    "TwoPatternSpec",
    "pattern_directions",
    "two_pattern_data",
    "check_two_pattern_data",
    "PatchSpec",
    "patch_patterns",
    "add_patches",
    "BatchedMLP",
    "kind_accuracy",
    "evaluated_epochs",
    "train_sweep",
    "TwoPatternConfig",
    "LRNoiseConfig",
    "run_two_patterns",
    "run_lr_noise",
    "plot_lr_noise",
    "check_lr_noise",
    "check_more_samples",
    "more_samples_per_dimension",
    "plot_two_patterns",
    # the control: a small rate with injected noise
    "noisy_preactivations",
    "NoiseControlConfig",
    "run_lr_noise_control",
    "plot_lr_noise_control",
    "check_lr_noise_control",
    # learning-rate noise on real images
    "load_images",
    "ImagesConfig",
    "PatchConfig",
    "LRNoiseImagesConfig",
    "lr_on_images",
    "patch_experiment",
    "run_lr_noise_images",
    "plot_lr_noise_images",
    "plot_more_samples",
    "check_lr_noise_images",
    # compositional functions
    "node_function",
    "compositional_target",
    "TreeNetwork",
    "shallow_network",
    "deep_network",
    "fit_regression",
    "parameters_needed",
    "CompositionalConfig",
    "run_compositional",
    "plot_compositional",
    "check_compositional",
    # the registry
    "RANDOM_LABELS_FIGURES",
    "WIDTH_FIGURES",
    "LAZY_FIGURES",
    "LR_NOISE_FIGURES",
    "LR_NOISE_IMAGES_FIGURES",
    "LR_NOISE_CONTROL_FIGURES",
    "COMPOSITIONAL_FIGURES",
    "EXPERIMENTS",
    "CHECKS",
    "NOTEBOOKS",
]
