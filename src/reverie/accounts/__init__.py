"""People and access: practices, users and roles, two-factor login, API tokens."""
