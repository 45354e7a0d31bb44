"""Django-free helpers: pure functions that can be tested and benchmarked without the ORM."""
