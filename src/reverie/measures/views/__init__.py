"""Measurement pages: the client's portal and one-time links, the therapist's measurement
record of a client (schedule, requests, paper entry, results), and the instrument library.

One module per concern: :mod:`.portal` (the client's questionnaires), :mod:`.links`
(one-time links), :mod:`.answering` (the questionnaire page both share), :mod:`.record`
(the therapist's measurement record of a client), :mod:`.library` (instruments), and
:mod:`.lookups` (the access-checked lookups every page uses).

Every page that shows clinical data writes its audit entry; every change goes through
:mod:`reverie.measures.actions`.
"""

from reverie.measures.views.answering import request_values
from reverie.measures.views.library import import_instrument, instrument, instruments
from reverie.measures.views.links import link, link_save
from reverie.measures.views.portal import answer, done, portal, save
from reverie.measures.views.record import (
    administration,
    ask,
    cancel,
    client_measures,
    paper,
    schedule,
    send_link,
)

__all__ = [
    "administration",
    "answer",
    "ask",
    "cancel",
    "client_measures",
    "done",
    "import_instrument",
    "instrument",
    "instruments",
    "link",
    "link_save",
    "paper",
    "portal",
    "request_values",
    "save",
    "schedule",
    "send_link",
]
