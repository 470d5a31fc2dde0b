"""The dashboard's views, one concern a module; each holds its Panel objects and an ``update``."""
