"""A fake Quectel EC25 on a pseudo-terminal, driven by a TOML scenario (see tools/scenarios/)."""
