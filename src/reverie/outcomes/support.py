"""The clinical-support checklist offered after a not-on-track alert.

When a client's score lies outside the range expected of similar clients
(:class:`reverie.outcomes.recovery.LiveRule`), the feedback studies did not stop at the
signal: therapists were also given a short structured review of the areas that most often
lie behind a poor response, and that review added to the benefit of the signal alone.
This module is Reverie's open version of that review: five areas, each with a few prompts
for the clinician, written in our own words (the published tools are licensed
questionnaires; nothing of their wording is copied here).

It is decision support, not assessment. Reverie never decides what is wrong: each prompt is
a question for the clinician to consider, with the client where that fits, and the
clinician records which areas they reviewed and, if they wish, a note (encrypted with the
client's data key; ``outcomes.SupportReview``).

The areas and why they are there
--------------------------------
The five areas are those of the Assessment for Signal Clients, the core of the Clinical
Support Tools: the therapeutic alliance, the client's motivation for therapy, their social
support and recent life events (White et al. 2015), preceded, as in the tools' decision
order, by a check of risk to the client (Whipple et al. 2003; Harmon et al. 2005). In a
cluster analysis of 107 off-track clients, problems grouped into alliance-and-motivation and
social-support-and-life-events types, with social support the most frequent (White et al.
2015). Risk comes first because a worsening score can be a worsening danger.

For a psychodynamic practice the alliance prompts name ruptures and their repair: tension
in the working relationship is expected in this work, and repairing it is associated with
better outcomes (Eubanks, Muran & Safran 2018).

What the evidence says the review adds
---------------------------------------
- Whipple et al. (2003): clients predicted to fail whose therapists received progress
  feedback *and* used the clinical support tools stayed longer and ended better than
  those whose therapists received feedback alone; nearly twice as many reached reliable or
  clinically significant change.
- Harmon et al. (2007): a replication in which the support tools again improved the
  outcome of clients at risk of failure beyond feedback alone.
- Shimokawa, Lambert & Smart (2010): a meta- and mega-analysis of six studies
  (N = 6,151): feedback improved outcome for clients at risk of treatment failure, and the
  clinical support tools were among the interventions that also reduced deterioration.

The studies used the Outcome Questionnaire-45 and its own tools in mostly university
counselling settings; Reverie's alert uses the PHQ-9 and GAD-7 and a dose-based expected
range (``outcomes/dose.py``), so the size of the benefit here is not known. That is said
on the page.

References
----------
Whipple, J. L., Lambert, M. J., Vermeersch, D. A., Smart, D. W., Nielsen, S. L., &
Hawkins, E. J. (2003). Improving the effects of psychotherapy: The use of early
identification of treatment failure and problem-solving strategies in routine practice.
*Journal of Counseling Psychology*, 50(1), 59-68. https://doi.org/10.1037/0022-0167.50.1.59

Harmon, C., Hawkins, E. J., Lambert, M. J., Slade, K., & Whipple, J. S. (2005). Improving
outcomes for poorly responding clients: The use of clinical support tools and feedback to
clients. *Journal of Clinical Psychology (In Session)*, 61(2). The decision tree and its
measures. https://doi.org/10.1002/jclp.20109

Harmon, S. C., Lambert, M. J., Smart, D. M., Hawkins, E., Nielsen, S. L., Slade, K., &
Lutz, W. (2007). Enhancing outcome for potential treatment failures: Therapist-client
feedback and clinical support tools. *Psychotherapy Research*, 17(4), 379-392.
https://doi.org/10.1080/10503300600702331

Shimokawa, K., Lambert, M. J., & Smart, D. W. (2010). Enhancing treatment outcome of
patients at risk of treatment failure: Meta-analytic and mega-analytic review of a
psychotherapy quality assurance system. *Journal of Consulting and Clinical Psychology*,
78(3), 298-311. https://doi.org/10.1037/a0019247

White, M. M., Lambert, M. J., Ogles, B. M., Mclaughlin, S. B., Bailey, R. J., &
Tingey, K. M. (2015). Using the Assessment for Signal Clients as a feedback tool for
reducing treatment failure. *Psychotherapy Research*, 25(6), 724-734.
https://doi.org/10.1080/10503307.2015.1009862

Eubanks, C. F., Muran, J. C., & Safran, J. D. (2018). Alliance rupture repair: A
meta-analysis. *Psychotherapy*, 55(4), 508-519. https://doi.org/10.1037/pst0000185

What was checked (2026-12-06, in stored copies of the publishers' and indexes' pages):
Whipple 2003 (authors, title, journal, volume, pages and DOI from the article's first page);
Shimokawa 2010 (authors, title, journal, volume, pages, N and the DOI from PubMed 20515206);
the 2015 Assessment for Signal Clients paper (title, journal, volume, pages, DOI and the
107-client cluster findings from PubMed 25751744; the author list was not on the page read
and is given from the literature, not checked); Harmon 2005 (authors, title, year, journal
and DOI; volume and issue not seen); Harmon 2007 (authors, title, journal, volume and issue
from the article's cover page; pages and DOI not seen there); Eubanks 2018 (authors, title,
journal, volume and pages; the DOI not seen).

Examples
--------
>>> [a.key for a in AREAS]
['risk', 'alliance', 'motivation', 'support', 'events']
>>> clean_keys(["support", "risk", "support"])
('risk', 'support')
>>> clean_keys(["diagnosis"])
Traceback (most recent call last):
...
ValueError: not an area of the checklist: diagnosis
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    short: str
    reference: str
    url: str


@dataclass(frozen=True)
class Area:
    key: str
    title: str
    #: Why the area is on the list, in one sentence.
    why: str
    #: Questions for the clinician; none of them is a finding.
    prompts: tuple[str, ...]
    sources: tuple[Source, ...]


WHIPPLE_2003 = Source(
    "Whipple et al. 2003",
    "Whipple, Lambert, Vermeersch, Smart, Nielsen & Hawkins (2003), Journal of Counseling "
    "Psychology 50(1), 59-68",
    "https://doi.org/10.1037/0022-0167.50.1.59",
)
HARMON_2005 = Source(
    "Harmon et al. 2005",
    "Harmon, Hawkins, Lambert, Slade & Whipple (2005), Journal of Clinical Psychology "
    "(In Session) 61(2): the clinical support tools' decision tree",
    "https://doi.org/10.1002/jclp.20109",
)
HARMON_2007 = Source(
    "Harmon et al. 2007",
    "Harmon, Lambert, Smart, Hawkins, Nielsen, Slade & Lutz (2007), Psychotherapy Research "
    "17(4), 379-392",
    "https://doi.org/10.1080/10503300600702331",
)
SHIMOKAWA_2010 = Source(
    "Shimokawa, Lambert & Smart 2010",
    "Shimokawa, Lambert & Smart (2010), Journal of Consulting and Clinical Psychology "
    "78(3), 298-311",
    "https://doi.org/10.1037/a0019247",
)
WHITE_2015 = Source(
    "White et al. 2015",
    "White, Lambert, Ogles, Mclaughlin, Bailey & Tingey (2015), Psychotherapy Research "
    "25(6), 724-734",
    "https://doi.org/10.1080/10503307.2015.1009862",
)
EUBANKS_2018 = Source(
    "Eubanks, Muran & Safran 2018",
    "Eubanks, Muran & Safran (2018), Psychotherapy 55(4), 508-519",
    "https://doi.org/10.1037/pst0000185",
)

#: Every source the page lists under the checklist.
SOURCES: tuple[Source, ...] = (
    WHIPPLE_2003,
    HARMON_2005,
    HARMON_2007,
    SHIMOKAWA_2010,
    WHITE_2015,
    EUBANKS_2018,
)

AREAS: tuple[Area, ...] = (
    Area(
        key="risk",
        title="Safety and risk",
        why="A score that keeps rising can mean growing danger, so the support tools put "
        "this check before the others.",
        prompts=(
            "Have thoughts of self-harm or suicide been asked about since the score rose "
            "(PHQ-9 item 9 is one answer, not an assessment)?",
            "Has anything changed in what keeps the client safe: plans, means, people, "
            "alcohol or drugs?",
            "Does the current frequency of sessions still match the level of concern?",
        ),
        sources=(WHIPPLE_2003, HARMON_2005),
    ),
    Area(
        key="alliance",
        title="Our working relationship",
        why="A strained alliance is one of the commonest findings in clients who go off "
        "track, and tension that is noticed and talked about can be repaired.",
        prompts=(
            "Could there be a rupture, open or quiet: withdrawal, polite agreement, "
            "lateness, missed sessions, irritation with the therapy or with me?",
            "Do we still agree on what we are working on and how we work on it?",
            "Is there something in the transference, or in my own reactions, that I have "
            "not yet put into words or taken to supervision?",
        ),
        sources=(WHITE_2015, EUBANKS_2018),
    ),
    Area(
        key="motivation",
        title="Motivation and expectations",
        why="Off-track clients often report doubts about therapy itself; in the cluster "
        "analysis these went together with alliance problems.",
        prompts=(
            "What does the client hope therapy will change now, and is that still what we "
            "are doing?",
            "Has the client said, or shown, that they doubt therapy can help, or that "
            "they came for someone else's reasons?",
            "Is the pace, or the open-ended form of the work, right for them at this point?",
        ),
        sources=(WHITE_2015, HARMON_2005),
    ),
    Area(
        key="support",
        title="Support outside therapy",
        why="Low social support was the most frequent problem among off-track clients in "
        "the study that analysed them.",
        prompts=(
            "Who can the client turn to between sessions, and has that changed?",
            "Is a relationship the client depends on under strain or coming to an end?",
            "Would other help fit alongside therapy (a GP or psychiatrist, a group, a "
            "service for a practical problem)?",
        ),
        sources=(WHITE_2015,),
    ),
    Area(
        key="events",
        title="Recent life events",
        why="Stressful events outside therapy (loss, illness, work, money, moves) can "
        "raise scores whatever happens in the room.",
        prompts=(
            "Has something happened recently that the client has not yet brought, or that "
            "we have not yet linked to how they feel?",
            "Is an anniversary, a break in therapy or an ending stirring something up?",
            "Does the rise look like a response to events, a change in the work, or both?",
        ),
        sources=(WHITE_2015, WHIPPLE_2003),
    ),
)

KEYS: tuple[str, ...] = tuple(a.key for a in AREAS)
BY_KEY: dict[str, Area] = {a.key: a for a in AREAS}

#: Longest note kept (characters): a review note, not a progress note.
NOTE_MAX = 4000


def clean_keys(keys: Iterable[str]) -> tuple[str, ...]:
    """The reviewed areas in checklist order, without repeats; an unknown key is refused."""
    chosen = set()
    for key in keys:
        if key not in BY_KEY:
            raise ValueError(f"not an area of the checklist: {key}")
        chosen.add(key)
    return tuple(k for k in KEYS if k in chosen)


def titles(keys: Iterable[str]) -> list[str]:
    """Titles of the given areas, in checklist order (unknown keys are skipped: an area
    removed from a later version of the list still leaves old reviews readable)."""
    wanted = set(keys)
    return [a.title for a in AREAS if a.key in wanted]
