"""lowdim_course: the support package of the course *Low-dimensional structure in deep learning*.

Core modules (each one idea): runtime (profile, device, seed), data (tensors), models,
train (the training loop), metrics (feature statistics), results (provenance), plots,
exercises (checkers, student copies), experiments (the registry), cli. One module per lecture
holds that lecture's math and experiments (getting_started, ...).
"""

__version__ = "0.1.0"
