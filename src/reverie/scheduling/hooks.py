"""Where apps above scheduling join its actions without scheduling importing them.

:data:`consultation_booked` is sent, inside the booking action's transaction, when a first
consultation is booked from the directory or from a waitlist offer. Billing issues the Good
Faith Estimate from here (45 CFR 149.610 asks for one when a self-pay person schedules), so
the estimate commits or rolls back with the booking.
"""

from __future__ import annotations

from django.dispatch import Signal

#: Sent with ``ctx`` (the audit context) and ``booking`` (its ``request`` set).
consultation_booked = Signal()
