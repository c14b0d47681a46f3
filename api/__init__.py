"""The REST API (FastAPI, ``/api/v1``): the top floor beside the command line.

Routes are thin (``api.routes``, one module per resource): they check the key's role and scope (``api.auth``,
``api.deps``), call the core and the pipeline, and answer JSON errors from the one catalogue (``api.errors``).
The app is built by ``api.app.create_app``; nothing below ``api`` imports it.
"""
