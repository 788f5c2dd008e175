"""CSS and JavaScript of the pages (a package so that installs carry them)."""
