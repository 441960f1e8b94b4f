"""Pydantic models of each provider's spec, for the simulator. GENERATED; do not edit."""
