"""Shared web plumbing: base templates, static assets, middleware, the background worker."""
