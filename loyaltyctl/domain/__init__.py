"""Pure, typed rules and values: no I/O, imports nothing else of ours."""
