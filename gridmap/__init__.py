"""gridmap: community grid governance (网格化治理) — grids, stewards, complaints and maps."""

__version__ = "0.1.0"
