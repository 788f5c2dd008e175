"""Request and response bodies of the API, apart from the routes (as Frigate's ``api/defs``)."""
