"""Propagation backends: meshes + radar pose -> :class:`~sim.propagation.paths.PathSet`."""
