"""Media: types and sniffing, uploaded-file checks, probing and HLS with ffmpeg, and serving files from disk."""
