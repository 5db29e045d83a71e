"""The web app and REST API (issue #7): FastAPI, server-rendered Vietnamese pages, access control, audit log.

    app.py        builds the FastAPI application (routers, error pages, the supervisor thread)
    config.py     settings of the web app (SOHOA_WEB_*, SOHOA_MAX_UPLOAD_MB)
    state.py      what every request needs: settings, archive, search index, supervisor, templates
    labels.py     the Vietnamese words for statuses, kinds, events and fields
    models.py     tables of migration 0005: users, web sessions, API tokens, audit log
    roles.py      the four roles and what each may do
    accounts.py   users, password hashing, sessions, API tokens (the Python API `sohoa users` calls)
    audit.py      who viewed or downloaded what, and when (`sohoa audit`)
    security.py   request authentication (cookie or bearer token), role checks, CSRF
    errors.py     Vietnamese error pages and JSON errors; never a traceback
    uploads.py    files from the browser to the workers (the hot folder's path, job "upload")
    records.py    a record for display: metadata, events, thumbnails, verified downloads
    routes/       one module per page, each with its /api twin calling the same functions
"""
