"""The event wire format shared by edge boxes and the collector."""
