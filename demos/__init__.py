"""hotdata's demo: a Textual terminal app whose screens run on hot-loaded fixtures."""
