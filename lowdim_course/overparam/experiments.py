"""The experiments of lectures 6 and 7 in their order, for the course registry
(`lowdim_course.experiments` reads `EXPERIMENTS`): name -> (run, config class, figures, one-line
summary), and `CHECKS`: name -> the check of its claims. The configs, runs and checks live in
`experiments_capacity` (random labels, width), `experiments_lazy` (lazy training),
`experiments_lr_noise` (the
two-pattern data set), `experiments_noise_control` (the small rate with injected noise),
`experiments_lr_noise_images` (the same schedules on real images) and
`experiments_compositional`; the figures in `plots`."""

from __future__ import annotations

from . import experiments_capacity as capacity
from . import experiments_compositional as compositional
from . import experiments_lazy as lazy
from . import experiments_lr_noise as lr_noise
from . import experiments_lr_noise_images as lr_noise_images
from . import experiments_noise_control as noise_control
from . import plots

RANDOM_LABELS_FIGURES = {"random_labels": plots.plot_random_labels}
WIDTH_FIGURES = {"width": plots.plot_width}
LAZY_FIGURES = {"lazy": plots.plot_lazy}
LR_NOISE_FIGURES = {"lr_noise": plots.plot_lr_noise}
LR_NOISE_IMAGES_FIGURES = {"lr_noise_images": plots.plot_lr_noise_images}
LR_NOISE_CONTROL_FIGURES = {"lr_noise_control": plots.plot_lr_noise_control}
COMPOSITIONAL_FIGURES = {"compositional": plots.plot_compositional}

EXPERIMENTS = {
    "overparam_random_labels": (
        capacity.run_random_labels,
        capacity.RandomLabelsConfig,
        RANDOM_LABELS_FIGURES,
        "one network fits true, partly and fully random labels and shuffled pixels",
    ),
    "overparam_width": (
        capacity.run_width,
        capacity.WidthConfig,
        WIDTH_FIGURES,
        "train/test error and weight movement against width (WRN-40-k in full)",
    ),
    "overparam_lazy": (
        lazy.run_lazy,
        lazy.LazyConfig,
        LAZY_FIGURES,
        "NTK parametrisation: relative weight movement falls like width^-1/2",
    ),
    "overparam_compositional": (
        compositional.run_compositional,
        compositional.CompositionalConfig,
        COMPOSITIONAL_FIGURES,
        "deep vs shallow networks on a binary-tree compositional function",
    ),
    "overparam_lr_noise": (
        lr_noise.run_lr_noise,
        lr_noise.LRNoiseConfig,
        LR_NOISE_FIGURES,
        "large lr + decay vs small lr on a two-pattern data set: order of learning",
    ),
    "overparam_lr_noise_control": (
        noise_control.run_lr_noise_control,
        noise_control.NoiseControlConfig,
        LR_NOISE_CONTROL_FIGURES,
        "small lr with and without injected pre-activation noise, on the two-pattern data set",
    ),
    "overparam_lr_noise_images": (
        lr_noise_images.run_lr_noise_images,
        lr_noise_images.LRNoiseImagesConfig,
        LR_NOISE_IMAGES_FIGURES,
        "large lr + decay vs small lr on images, and the class-patch experiment (CIFAR in full)",
    ),
}

# name -> check(result, profile): the lecture's claims on the experiment's result
CHECKS = {
    "overparam_random_labels": capacity.check_random_labels,
    "overparam_width": capacity.check_width,
    "overparam_lazy": lazy.check_lazy,
    "overparam_compositional": compositional.check_compositional,
    "overparam_lr_noise": lr_noise.check_lr_noise,
    "overparam_lr_noise_control": noise_control.check_lr_noise_control,
    "overparam_lr_noise_images": lr_noise_images.check_lr_noise_images,
}

# Lecture 7 (learning-rate noise) is this package's second notebook; the rest are lecture 6's.
NOTEBOOKS = {
    "overparam_lr_noise": "lectures/07_learning_rate_noise.ipynb",
    "overparam_lr_noise_control": "lectures/07_learning_rate_noise.ipynb",
    "overparam_lr_noise_images": "lectures/07_learning_rate_noise.ipynb",
}
