"""Jinja2 templates of the pages (a package so that installs carry them)."""
