"""City-wide jobs on a Dask cluster."""
