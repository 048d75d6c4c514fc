"""lowdim_course: the support package of the course *Low-dimensional structure in deep learning*.

Core modules (each one idea): runtime (profile, device, seed), data (tensors), models (every
network, from `models.build`), train (the training loop), metrics (feature statistics), results
(provenance), plots, exercises (checkers, student copies), experiments (the registry), cli.
Lecture 0 is getting_started; lectures 1-6 are subpackages (sparse, manifolds, collapse,
parsimony, robust, overparam), each with its mathematics in modules named for their idea,
its experiments in experiments.py and its figures in plots.py.
"""

__version__ = "0.1.0"
