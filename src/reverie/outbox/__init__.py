"""Every message Reverie sends leaves through here.

An action writes the message as a row in its own transaction (:func:`queue.enqueue`); it
is delivered after that transaction commits, first by the request itself and otherwise by
the worker, which retries with backoff and records every attempt. A mail outage therefore
delays a message but never fails, slows or undoes the action that sent it. This is the
only package that talks to a mail server (``tests/outbox/test_rules.py`` checks).
"""
