"""Clinical writing for the synthetic demo practice: a small template grammar.

The generative model (:mod:`reverie.demo.model`) decides *what* happens -- which sessions
have a progress note, which relationship episode is about the therapist, how a session
was rated -- and this module writes the words. Nothing here is taken from a real person
or a real record: every sentence is assembled from the phrase lists below, which were
written for this demo. ``docs/demo-data.md`` describes the lists and how they are used.

**The grammar.** A template is a string with ``{slot}`` placeholders. A slot is filled
from the bindings given for one piece of writing (the client's pronouns, the people in
their life, their recurring images) or, failing that, from a rule of the grammar: a
tuple of alternatives, one chosen uniformly, each of which is itself a template. The
first letter of every sentence is capitalised after expansion.

**The random numbers.** :class:`Words` draws only through ``random.Random.random()``,
the one method whose output Python promises to keep across versions for a given seed
(``choice`` and ``randrange`` may change), so a seed gives the same words on every
machine. It is not numpy's generator because text is made one word at a time, and a
numpy scalar draw costs about ten times a ``Random.random()`` call.

A third-party grammar engine (the Python ports of Tracery) was considered and not used:
they draw from the global ``random`` state, which would make the demo's words depend on
whatever else used it, and the whole engine needed here is the forty lines below.

This module has no Django imports.

>>> words = Words(7)
>>> case = case_material(words, pronouns="she/her", concerns=("grief",))
>>> note = progress_note(words, case, modality="psychodynamic", attendance="attended")
>>> note.content[:1].isupper() and note.content.endswith(".")
True
>>> Words(7).pick(("a", "b", "c")) == Words(7).pick(("a", "b", "c"))
True
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeVar

__all__ = [
    "CaseMaterial",
    "EpisodeText",
    "Formulation",
    "JournalText",
    "NoteText",
    "Words",
    "addendum",
    "case_material",
    "consultation_message",
    "journal_entry",
    "process_note",
    "progress_note",
    "reflection_comment",
    "relationship_episode",
    "triage_note",
]

_T = TypeVar("_T")
_SLOT = re.compile(r"\{(\w+)\}")
_MAX_DEPTH = 8

Rules = Mapping[str, Sequence[str]]


class Words:
    """A seeded chooser and template expander (see the module docstring)."""

    __slots__ = ("_random",)

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def random(self) -> float:
        return self._random.random()

    def chance(self, p: float) -> bool:
        return self._random.random() < p

    def pick(self, options: Sequence[_T]) -> _T:
        return options[int(self._random.random() * len(options))]

    def between(self, low: int, high: int) -> int:
        """A uniform integer in [low, high]."""
        return low + int(self._random.random() * (high - low + 1))

    def sample(self, options: Sequence[_T], k: int) -> list[_T]:
        """``k`` distinct elements (fewer if there are fewer), in drawn order."""
        pool = list(options)
        out: list[_T] = []
        while pool and len(out) < k:
            out.append(pool.pop(int(self._random.random() * len(pool))))
        return out

    def expand(self, template: str, bindings: Mapping[str, str], rules: Rules | None = None) -> str:
        """Fill every ``{slot}`` from ``bindings`` or ``rules``; capitalise sentences."""
        text = self._fill(template, bindings, _RULES if rules is None else rules, 0)
        return _sentence_case(text)

    def _fill(self, template: str, bindings: Mapping[str, str], rules: Rules, depth: int) -> str:
        if depth > _MAX_DEPTH:
            raise ValueError(f"the grammar recurses too deeply at {template!r}")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in bindings:
                value = bindings[name]
            elif name in rules:
                value = self.pick(rules[name])
            else:
                raise KeyError(f"no binding or rule for {{{name}}}")
            return self._fill(value, bindings, rules, depth + 1) if "{" in value else value

        return _SLOT.sub(replace, template)


def _sentence_case(text: str) -> str:
    """Capitalise the first letter of the text and of every sentence in it."""
    text = " ".join(text.split())
    return re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


# ---------------------------------------------------------------------------------------------
# The people and images of one client's story
# ---------------------------------------------------------------------------------------------

_PRONOUNS: Final[dict[str, dict[str, str]]] = {
    "she/her": {"subj": "she", "obj": "her", "poss": "her", "was": "was", "has": "has"},
    "he/him": {"subj": "he", "obj": "him", "poss": "his", "was": "was", "has": "has"},
    "they/them": {"subj": "they", "obj": "them", "poss": "their", "was": "were", "has": "have"},
}

#: (kind of other person in the CCRT vocabulary, how the client names them).
_FIGURES: Final[tuple[tuple[str, str], ...]] = (
    ("parent", "mother"),
    ("parent", "father"),
    ("partner", "partner"),
    ("partner", "ex-partner"),
    ("boss", "manager"),
    ("boss", "team lead"),
    ("friend", "oldest friend"),
    ("friend", "flatmate"),
    ("sibling", "older sister"),
    ("sibling", "younger brother"),
    ("child", "teenage son"),
    ("other", "neighbour"),
)
_CONCERN_FIGURES: Final[dict[str, tuple[int, ...]]] = {
    "relationships": (2, 3),
    "attachment": (2, 0),
    "work stress": (4, 5),
    "grief": (1, 0),
    "trauma": (1, 8),
    "identity": (0, 1),
    "self-esteem": (1, 4),
    "life transitions": (10, 6),
}


@dataclass(frozen=True, slots=True)
class Motif:
    """A recurring image: its name, dream sentences and words that come with it."""

    noun: str
    dreams: tuple[str, ...]
    associations: tuple[str, ...]


_MOTIFS: Final[tuple[Motif, ...]] = (
    Motif(
        "train",
        (
            "I was running for a train that pulled out just as I reached the platform",
            "the train doors closed and I could see {figure} inside, not looking at me",
            "I was on a night train that would not stop at my station",
        ),
        ("platform", "the last train", "timetables", "waving from the window"),
    ),
    Motif(
        "house",
        (
            "I found a door in my flat that led to rooms I had never seen",
            "I was in my grandmother's house but the rooms were in the wrong order",
            "I was showing someone around a house and every room was full of old furniture",
        ),
        ("hidden rooms", "my grandmother's stairs", "a locked cupboard", "dust sheets"),
    ),
    Motif(
        "water",
        (
            "water was rising in the kitchen and nobody else seemed to notice",
            "I was swimming in a lake and could not see the bottom",
            "the bath kept overflowing however often I turned the tap off",
        ),
        ("deep water", "the lake in summer", "holding my breath", "a leak"),
    ),
    Motif(
        "exam",
        (
            "I was sitting an exam in a subject I had never studied",
            "I arrived at the exam hall and my name was not on the list",
            "everyone else had finished the exam and I had not written a word",
        ),
        ("blank paper", "being tested", "the school hall", "the clock on the wall"),
    ),
    Motif(
        "child",
        (
            "I was looking after a small child and lost them in a crowd",
            "a child was crying in another room and I could not find the door",
            "a small child was waiting at a school gate and nobody came",
        ),
        ("the school gate", "waiting to be collected", "a crying child", "a red coat"),
    ),
    Motif(
        "stage",
        (
            "I was on a stage and had forgotten every line",
            "I had to give a speech and the pages were blank",
            "the audience started leaving while I was still talking",
        ),
        ("the spotlight", "forgotten lines", "applause", "being watched"),
    ),
    Motif(
        "car",
        (
            "I was driving downhill and the brakes did not work",
            "I was in the back seat of a car and nobody was driving",
            "I could not find the car park where I had left the car",
        ),
        ("the brakes", "the back seat", "driving at night", "a wrong turning"),
    ),
    Motif(
        "party",
        (
            "I was at a party where everybody knew each other and nobody saw me",
            "I arrived at a wedding in the wrong clothes and everyone stared",
            "the party moved to another house and nobody told me where",
        ),
        ("a crowded room", "the wrong clothes", "being left out", "music through a wall"),
    ),
    Motif(
        "phone",
        (
            "I kept trying to call {figure} but the numbers on the phone moved around",
            "the phone rang and when I answered there was only static",
            "I was typing a message to {figure} and the letters kept disappearing",
        ),
        ("an unanswered call", "static on the line", "a message left on read", "voicemail"),
    ),
)


@dataclass(frozen=True, slots=True)
class Formulation:
    """One way of wording a CCRT component, with the event that shows it in a story."""

    text: str
    event: str
    valence: str = ""


# Formulations in Reverie's own words, written for this demo. They are deliberately few
# per client so that formulations of the same meaning recur word for word, as they do
# when one therapist formulates one person over months; they are not a standard CCRT
# category list (those are licensed and Reverie ships none).
_WISHES: Final[tuple[Formulation, ...]] = (
    Formulation("to be taken seriously", "tried to explain {poss} point of view"),
    Formulation("to be close to someone", "suggested spending the weekend together"),
    Formulation("to make my own decisions", "said {subj} had decided to change course"),
    Formulation("to be looked after", "said {subj} felt unwell and needed help"),
    Formulation("to be accepted as I am", "talked openly about how {subj} really felt"),
    Formulation("to be recognised for my work", "presented the plan {subj} had worked on"),
    Formulation("to feel safe", "asked for some reassurance"),
    Formulation("to be understood", "tried to describe what the last months had been like"),
    Formulation("to not be a burden", "hesitated to ask for anything at all"),
    Formulation("to be respected", "asked for a decision to be discussed first"),
)
_RESPONSES_OF_OTHER: Final[tuple[Formulation, ...]] = (
    Formulation("dismisses me", "changed the subject almost at once", "negative"),
    Formulation("is critical of me", "pointed out everything that was wrong with it", "negative"),
    Formulation("withdraws", "went quiet and left the room", "negative"),
    Formulation("is controlling", "told {obj} what to do instead", "negative"),
    Formulation("rejects me", "said {subj} {was} being too much", "negative"),
    Formulation("does not notice me", "kept looking at the phone", "negative"),
    Formulation("is unavailable", "cancelled at the last minute", "negative"),
    Formulation(
        "puts their own needs first", "turned the conversation to their own week", "negative"
    ),
)
_POSITIVE_OTHER: Final[tuple[Formulation, ...]] = (
    Formulation("listens to me", "listened and asked how {subj} was", "positive"),
    Formulation("is supportive", "offered to help without being asked twice", "positive"),
    Formulation("respects my decision", "said it was {poss} call to make", "positive"),
)
_RESPONSES_OF_SELF: Final[tuple[Formulation, ...]] = (
    Formulation("I go quiet and withdraw", "went quiet for the rest of the evening", "negative"),
    Formulation("I feel ashamed", "felt ashamed for having asked", "negative"),
    Formulation("I get angry and then guilty", "snapped and then apologised for hours", "negative"),
    Formulation("I give in", "agreed to do it their way", "negative"),
    Formulation("I blame myself", "decided it had been {poss} own fault", "negative"),
    Formulation("I feel anxious", "lay awake going over it", "negative"),
    Formulation("I feel empty", "felt nothing much and went to bed early", "negative"),
)
_POSITIVE_SELF: Final[tuple[Formulation, ...]] = (
    Formulation("I feel relieved", "felt lighter afterwards", "positive"),
    Formulation("I speak up for myself", "said clearly what {subj} needed", "positive"),
    Formulation("I feel closer", "felt closer than {subj} had in months", "positive"),
)
#: What the therapist did, in a relationship episode about the therapist (transference).
_THERAPIST_EVENTS: Final = (
    "announced the dates of the summer break",
    "started the session a few minutes late",
    "ended the session on time in the middle of a story",
    "did not answer a question directly",
    "wrote something down",
    "asked about {poss} {figure} again",
    "changed the time of a session",
)


@dataclass(frozen=True, slots=True)
class CaseMaterial:
    """The recurring content of one client's therapy: people, images, core conflict.

    Everything the demo writes about a client draws on this, which is what makes themes
    recur across the journal, the relationship episodes and the notes.
    """

    pronouns: dict[str, str]
    figures: tuple[tuple[str, str], ...]  # (other person kind, name), most important first
    motifs: tuple[Motif, ...]
    wishes: tuple[Formulation, ...]  # the core wish first
    others: tuple[Formulation, ...]  # negative responses of others, core first
    selves: tuple[Formulation, ...]  # negative responses of self, core first
    concerns: tuple[str, ...]
    bindings: dict[str, str] = field(default_factory=dict)


def case_material(words: Words, *, pronouns: str, concerns: Sequence[str]) -> CaseMaterial:
    """Draw the people, recurring images and core conflict of one client's story."""
    forms = _PRONOUNS[pronouns]
    preferred: list[int] = []
    for concern in concerns:
        preferred.extend(_CONCERN_FIGURES.get(concern, ()))
    first = words.pick(preferred) if preferred else words.between(0, len(_FIGURES) - 1)
    rest = [i for i in range(len(_FIGURES)) if i != first]
    chosen = [first, *words.sample(rest, 3)]
    figures = tuple(_FIGURES[i] for i in chosen)
    motifs = tuple(words.sample(_MOTIFS, 2))
    bindings = dict(forms)
    bindings["figure"] = f"{forms['poss']} {figures[0][1]}"
    return CaseMaterial(
        pronouns=forms,
        figures=figures,
        motifs=motifs,
        wishes=tuple(words.sample(_WISHES, 3)),
        others=tuple(words.sample(_RESPONSES_OF_OTHER, 3)),
        selves=tuple(words.sample(_RESPONSES_OF_SELF, 3)),
        concerns=tuple(concerns),
        bindings=bindings,
    )


def _bindings(words: Words, case: CaseMaterial, figure: int | None = None) -> dict[str, str]:
    """Pronouns, one person from the client's life and one recurring image."""
    index = figure if figure is not None else _figure_index(words, case)
    kind, name = case.figures[index]
    motif = _pick_motif(words, case)
    out = dict(case.bindings)
    out["figure"] = f"{case.pronouns['poss']} {name}"
    out["figure_kind"] = kind
    out["motif"] = motif.noun
    out["motif_dream"] = words.pick(motif.dreams)
    out["motif_word"] = words.pick(motif.associations)
    out["concern"] = words.pick(case.concerns) if case.concerns else "how things are"
    return out


def _figure_index(words: Words, case: CaseMaterial) -> int:
    """The most important person half of the time, otherwise another."""
    return 0 if words.chance(0.5) else words.between(1, len(case.figures) - 1)


def _pick_motif(words: Words, case: CaseMaterial) -> Motif:
    return case.motifs[0] if words.chance(0.65) else case.motifs[-1]


# ---------------------------------------------------------------------------------------------
# Grammar rules shared by every kind of writing
# ---------------------------------------------------------------------------------------------

_RULES: Final[dict[str, tuple[str, ...]]] = {
    "arrival": ("on time", "a few minutes late", "early and waited outside", "out of breath"),
    "feeling": (
        "sadness",
        "anger",
        "shame",
        "loneliness",
        "relief",
        "guilt",
        "envy",
        "longing",
        "disappointment",
        "fear",
    ),
    "topic": (
        "a difficult week at work",
        "an argument with {figure}",
        "a long phone call with {figure}",
        "poor sleep",
        "the coming holidays",
        "a dream from the weekend",
        "feeling low since the last session",
        "plans with {figure}",
        "{concern}",
        "a visit home",
    ),
    "pd_middle": (
        "We stayed with the {feeling} that came up when {subj} talked about {figure}.",
        "{subj} linked this with how {poss} parents responded when {subj} {was} small.",
        "I pointed out how quickly {subj} moved from the {feeling} back to practical matters.",
        "{subj} brought a dream about {motif}; the associations led to {figure}.",
        "The familiar pattern came up again, this time with {figure}.",
        "We talked about what it was like to bring this to me.",
        "{subj} noticed the wish to be liked by me and laughed at it.",
        "There were long silences; {subj} said afterwards that they felt companionable.",
        "{subj} described {motif_word} and said it reminded {obj} of childhood.",
        "We wondered together why this keeps happening with {figure}.",
    ),
    "pd_close": (
        "{subj} left looking {out}.",
        "By the end {subj} seemed {out}.",
        "{subj} asked to continue with this next time.",
        "",
    ),
    "out": ("thoughtful", "tired but calmer", "lighter", "unsettled", "more settled"),
    "pd_interventions": (
        "exploration of affect; clarification",
        "interpretation of defence; linking past and present",
        "attention to the therapeutic relationship; clarification",
        "dream work; free association",
        "supportive interventions; exploration of avoidance",
        "linking past and present; naming a recurring pattern",
        "exploration of affect; attention to the therapeutic relationship",
    ),
    "pd_plan": (
        "Continue as planned.",
        "Continue; stay with the theme of {figure} when it returns.",
        "Continue; keep an eye on how the coming break is taken.",
        "Continue; return to the dream if {subj} brings it back.",
        "Continue; review the questionnaires together next month.",
    ),
    "cbt_agenda": (
        "review of homework, panic diary, exposure planning",
        "thought records from the week, core beliefs, next steps",
        "activity schedule, sleep, relapse-prevention plan",
        "worry time, behavioural experiment, homework",
    ),
    "cbt_body": (
        "Reviewed the week's thought records; {subj} named three automatic thoughts "
        "about {concern}.",
        "Set up a behavioural experiment for the week: {subj} predicts the worst will happen.",
        "Practised slow breathing and noticing catastrophic predictions in the moment.",
        "Moved two steps up the exposure hierarchy; anxiety peaked and fell within the session.",
        "Worked on the belief that mistakes will be noticed by everyone; evidence for and against.",
        "Reviewed activity scheduling; mood was better on days with planned contact with people.",
    ),
    "cbt_interventions": (
        "cognitive restructuring; homework review",
        "graded exposure; psychoeducation",
        "behavioural experiment; activity scheduling",
        "psychoeducation about the panic cycle; interoceptive exposure",
        "relapse prevention; review of progress on the questionnaires",
    ),
    "cbt_plan": (
        "Homework: thought records daily; next session reviews them.",
        "Homework: the next step of the exposure hierarchy three times.",
        "Homework: activity schedule; continue weekly sessions.",
        "Plan the remaining sessions and the ending together next time.",
    ),
    "risk_none": (
        "No suicidal ideation reported; risk low and unchanged.",
        "Denies thoughts of self-harm; no change in risk.",
        "No risk issues raised; protective factors in place.",
    ),
    "process": (
        "I noticed I felt {ct_feeling} while {subj} talked about {figure}.",
        "Found myself wanting to {ct_urge}.",
        "I wonder whether {hypothesis}.",
        "The {motif} image stays with me after the session.",
        "Sleepy in the second half; what was not being said?",
        "The wish to rescue again: note it, do not act on it.",
        "{subj} looked at the clock twice when we came near {figure}.",
    ),
    "ct_feeling": (
        "protective",
        "irritated",
        "bored, then guilty about it",
        "moved",
        "tense",
        "oddly distant",
        "very fond",
    ),
    "ct_urge": (
        "reassure {obj}",
        "give advice",
        "fill the silence",
        "defend {figure}",
        "end the session early",
    ),
    "hypothesis": (
        "the lateness is about me and the coming break",
        "{figure} stands in for an older disappointment",
        "{subj} is testing whether I will lose interest",
        "the talk about work keeps us away from the grief",
        "the dreams say what {subj} cannot yet say to me",
    ),
    "reflection": (
        "A lot of feeling about {figure} today.",
        "Mostly practical; {subj} kept things on the surface.",
        "The dream took up most of the session.",
        "We talked about the break and what it stirs up.",
        "{subj} noticed the pattern before I named it.",
        "Hard session; much avoidance, gently named.",
        "Felt like real contact between us today.",
    ),
    "situation": (
        "an evening at home",
        "a phone call",
        "a meeting on Monday",
        "a family dinner",
        "a walk at the weekend",
        "a message exchange",
    ),
}


# ---------------------------------------------------------------------------------------------
# Progress and process notes, reflections, addenda
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoteText:
    """The four text fields of a progress note."""

    content: str
    interventions: str
    risk_assessment: str
    plan: str


def progress_note(
    words: Words,
    case: CaseMaterial,
    *,
    modality: str,
    attendance: str,
    item9: int = 0,
) -> NoteText:
    """A progress note for one session. ``item9`` is the PHQ-9 item 9 answer taken before
    the session (0 when none), which the risk assessment then addresses."""
    b = _bindings(words, case)
    if attendance == "no_show":
        return NoteText(
            content=words.expand(
                "{subj} did not attend and did not call. I left a message offering the next "
                "regular session.",
                b,
            ),
            interventions="",
            risk_assessment="No indication of increased risk; to review at the next contact.",
            plan="Write if there is no contact before the next session.",
        )
    if item9 > 0:
        level = ("", "on several days", "on more than half the days", "nearly every day")[item9]
        risk = words.expand(
            "PHQ-9 item 9 answered " + level + "; {subj} described passive thoughts of not "
            "wanting to be here, with no plan or intent. Safety plan reviewed and crisis "
            "numbers given.",
            b,
        )
    else:
        risk = words.expand("{risk_none}", b)
    if modality == "cbt":
        parts = ["Agenda: {cbt_agenda}.", *words.sample(_RULES["cbt_body"], 2)]
        content = words.expand(" ".join(parts), b)
        return NoteText(
            content, words.expand("{cbt_interventions}", b), risk, words.expand("{cbt_plan}", b)
        )
    opening = words.pick(
        (
            "{subj} arrived {arrival} and began with {topic}.",
            "{subj} started in silence, then spoke about {topic}.",
            "The session opened with {topic}.",
        )
    )
    middle = " ".join(words.sample(_RULES["pd_middle"], words.between(1, 3)))
    content = words.expand(f"{opening} {middle} {{pd_close}}", b)
    return NoteText(
        content, words.expand("{pd_interventions}", b), risk, words.expand("{pd_plan}", b)
    )


def process_note(words: Words, case: CaseMaterial) -> str:
    """The therapist's private note: reactions, hunches, what stays with them."""
    b = _bindings(words, case)
    return words.expand(" ".join(words.sample(_RULES["process"], words.between(2, 4))), b)


def reflection_comment(words: Words, case: CaseMaterial) -> str:
    return words.expand("{reflection}", _bindings(words, case))


def addendum(words: Words, case: CaseMaterial) -> str:
    """A correction or late addition to a signed note."""
    b = _bindings(words, case)
    return words.expand(
        words.pick(
            (
                "Addendum: {subj} wrote after the session to say the plans with {figure} had "
                "changed; no change to risk.",
                "Correction: the session lasted 45 minutes, not 50; {subj} had to leave early.",
                "Addendum: discussed with {subj} at the next session; {subj} agreed with the plan "
                "recorded here.",
                "Late entry: {subj} mentioned on the way out that sleep had improved.",
            )
        ),
        b,
    )


# ---------------------------------------------------------------------------------------------
# Relationship episodes (CCRT)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EpisodeText:
    other_person: str
    other_person_note: str
    narrative: str
    wish: str
    response_of_other: str
    ro_valence: str
    response_of_self: str
    rs_valence: str


def relationship_episode(
    words: Words, case: CaseMaterial, *, transference: bool, positive_share: float
) -> EpisodeText:
    """A relationship episode and its tailor-made formulation.

    The wish is the client's core wish 60 % of the time. The responses of the other and of
    the self are positive with probability ``positive_share`` (which the model raises over
    the course of treatment), otherwise the core negative response 55 % of the time.
    """
    wish = case.wishes[0] if words.chance(0.6) else words.pick(case.wishes[1:])
    if words.chance(positive_share):
        other = words.pick(_POSITIVE_OTHER)
    else:
        other = case.others[0] if words.chance(0.55) else words.pick(case.others[1:])
    if words.chance(positive_share):
        self_ = words.pick(_POSITIVE_SELF)
    else:
        self_ = case.selves[0] if words.chance(0.55) else words.pick(case.selves[1:])
    figure = _figure_index(words, case)
    b = _bindings(words, case, figure)
    b["wish_event"] = wish.event
    b["ro_event"] = other.event
    b["rs_event"] = self_.event
    if transference:
        b["therapist_event"] = words.pick(_THERAPIST_EVENTS)
        narrative = words.expand(
            "Near the end of the session {subj} said that when I {therapist_event}, it had "
            "felt as though I did not want to hear more. {subj} had {wish_event} in the "
            "previous session, and afterwards {rs_event}.",
            b,
        )
        kind, note = "therapist", ""
    else:
        narrative = words.expand(
            "{subj} described {situation} with {figure}: {subj} {wish_event}, and "
            "{figure} {ro_event}. Afterwards {subj} {rs_event}.",
            b,
        )
        kind, name = case.figures[figure]
        note = name if kind in ("parent", "sibling", "other", "child") else ""
    return EpisodeText(
        other_person=kind,
        other_person_note=note,
        narrative=narrative,
        wish=wish.text,
        response_of_other=other.text,
        ro_valence=other.valence,
        response_of_self=self_.text,
        rs_valence=self_.valence,
    )


# ---------------------------------------------------------------------------------------------
# The client's journal
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JournalText:
    title: str
    text: str
    tags: tuple[str, ...]


_DREAM_TURNS: Final = (
    "Then {figure} was there, but younger, and did not recognise me.",
    "Somebody was calling my name from far away.",
    "I knew I had to get somewhere before dark.",
    "Everything was very quiet, which was the frightening part.",
    "I felt I had done something wrong but could not remember what.",
)
_DREAM_ENDS: Final = (
    "I woke up with my heart racing.",
    "I woke up sad and could not shake it all morning.",
    "I woke up relieved it was a dream.",
    "I woke up before finding out what happened.",
)
_FANTASIES: Final = (
    "quitting my job and moving somewhere by the sea",
    "telling {figure} exactly what I think, calmly, and being listened to",
    "being asked to lead the project everyone talks about",
    "a version of me who never worries about anything",
    "{figure} apologising, properly this time",
    "disappearing for a week without telling anyone",
    "being looked after completely, like when I was ill as a child",
)


def journal_entry(words: Words, case: CaseMaterial, kind: str) -> JournalText:
    """A journal entry of ``kind`` (dream, fantasy, association or thought), in the first
    person, as a client might write it on a phone."""
    b = _bindings(words, case)
    b["figure"] = f"my {case.figures[_figure_index(words, case)][1]}"
    motif = next(m for m in case.motifs if m.noun == b["motif"])
    b["motif_dream"] = words.pick(motif.dreams)
    tags: list[str] = []
    if kind == "dream":
        text = words.expand(
            "I was {place}. {motif_dream}. "
            + words.pick(_DREAM_TURNS)
            + " "
            + words.pick(_DREAM_ENDS),
            {
                **b,
                "place": words.pick(
                    ("at home", "in a city I did not know", "back at school", "at work")
                ),
            },
        )
        title = words.pick(
            (f"The {motif.noun} again", f"Dream about the {motif.noun}", "Bad night", "")
        )
        tags = ["dream", motif.noun]
    elif kind == "fantasy":
        text = words.expand(
            "On the way to work I caught myself imagining "
            + words.pick(_FANTASIES)
            + ". "
            + words.pick(
                (
                    "It felt good for about a minute and then embarrassing.",
                    "I want to talk about why this keeps coming back.",
                    "I did not tell anyone.",
                )
            ),
            b,
        )
        title = words.pick(("Daydream", "On the bus", ""))
        tags = ["daydream"]
    elif kind == "association":
        items = [*words.sample(motif.associations, 2), b["figure"], words.pick(_RULES["feeling"])]
        text = words.expand(". ".join(items) + ". Not sure why these go together.", b)
        title = words.pick(("Free association", "Words", ""))
        tags = [motif.noun]
    else:
        text = words.expand(
            "After the last session I kept thinking about what we said about {figure}. "
            + words.pick(
                (
                    "Maybe it is the same thing every time.",
                    "I noticed it again at work today.",
                    "I was annoyed about it at first, now less so.",
                    "I want to bring it next time.",
                )
            ),
            b,
        )
        title = words.pick(("After the session", "A thought", ""))
        tags = ["therapy"]
    return JournalText(title, text, tuple(tags))


# ---------------------------------------------------------------------------------------------
# The front door: consultation requests and intake triage
# ---------------------------------------------------------------------------------------------

_HELP_FOR: Final[dict[str, str]] = {
    "anxiety": "help with anxiety that has been getting worse over the past year",
    "depression": "someone to talk to about a low mood I cannot seem to lift",
    "relationships": "help understanding why my relationships keep going the same way",
    "attachment": "help with how panicky I get when people I love pull away",
    "trauma": "a therapist who works with things that happened a long time ago",
    "self-esteem": "help with how harshly I judge myself",
    "identity": "space to work out who I am apart from what is expected of me",
    "grief": "support after my father died last spring",
    "personality": "longer-term therapy; shorter courses have not really helped",
    "panic": "help with panic attacks on the train",
    "eating": "help with eating, which takes up too much of my day",
    "substance use": "help understanding my drinking",
    "work stress": "help with work stress that follows me home",
    "life transitions": "support through a big move and a new job",
}


def consultation_message(words: Words, concern: str, *, tried_before: bool) -> str:
    history = (
        "I had some CBT a few years ago, which helped for a while. "
        if tried_before
        else "I have never been in therapy before. "
    )
    return words.expand(
        f"Hello, I am looking for {_HELP_FOR[concern]}. {history}"
        + words.pick(
            (
                "I would like to understand where this comes from rather than only manage it.",
                "A friend recommended psychodynamic therapy.",
                "I read the pages on your site and the self-check suggested it might suit me.",
                "I am not sure what kind of therapy I need and would value a first conversation.",
            )
        ),
        {},
    )


def triage_note(words: Words, status: str) -> str:
    options = {
        "contacted": (
            "Emailed to offer a first consultation; waiting for a reply.",
            "Spoke briefly on the phone; will send available times.",
        ),
        "booked": ("First consultation booked for next week.",),
        "closed": (
            "Looking for a CBT group; referred to the community programme.",
            "Did not reply to two messages; closed.",
        ),
    }.get(status, ("",))
    return words.pick(options)
