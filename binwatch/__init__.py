"""binwatch: camera supervision of four-category waste-sorting drop-off points."""

__version__ = "0.1.0"
