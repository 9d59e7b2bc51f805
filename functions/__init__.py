"""HTTP handlers: one Chalice Blueprint per feature area, each named `bp`."""
