"""All SQL, one module per aggregate. Functions take keyword arguments and return dicts."""
