"""The routes of the REST API, one module per area; each is thin: dependencies in ``api.deps``, logic elsewhere."""
