"""A tour of the schedule library: the catalog, a few curves and a vmapped sweep."""
