"""Schemathesis hooks for tests/e2e/test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS): the caption upload
documents a SubRip body (`application/x-subrip`), a text type schemathesis has no serializer for; it goes on the
wire as plain text, as a client would send the file."""

import schemathesis

schemathesis.serializer.alias("application/x-subrip", "text/plain")
