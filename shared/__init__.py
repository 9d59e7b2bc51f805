"""VizTube's shared layer: settings, database, auth, storage, errors and SQL used by every handler."""
