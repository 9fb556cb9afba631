"""Generate the fixture site from its hand-written content: one theme per outlet."""
