"""The fit self-check: a short, plain-language questionnaire for people visiting the front door.

The self-check helps a person think about *how* they would like to work in therapy and gathers
the practical details that the therapist directory needs. It is deliberately modest: it is not a
diagnosis, not a suitability assessment and not a clinical screening instrument. All it does is
show which of the person's own answers fit the way psychodynamic therapy usually works and which
fit a more structured approach such as CBT, and then suggest talking it over in a consultation.

Where the questions come from
-----------------------------
Every question and answer below was written for Reverie; none is taken from a published
instrument.

* The *suitability* questions draw on descriptions of what distinguishes psychodynamic work.
  Blagys & Hilsenroth (2000, *Clinical Psychology: Science and Practice* 7(2):167–188) reviewed
  comparative process studies and found that psychodynamic therapists, more than
  cognitive-behavioural ones, focus on feelings and their expression, explore how people avoid
  painful thoughts and feelings, look for recurring themes and patterns, discuss past
  experience, and attend to relationships, including the one with the therapist. Shedler (2010,
  *American Psychologist* 65(2):98–109) summarises that review and the outcome evidence,
  including the finding that the benefits of psychodynamic therapy tend to last and often keep
  growing after treatment ends, which is why open-ended, gradual work is part of the picture.
  For the structured side we rely on the companion review by Blagys & Hilsenroth (2002,
  *Clinical Psychology Review* 22(5):671–706): cognitive-behavioural therapists more often set
  the agenda, teach skills, assign homework and concentrate on the present.
* The *preference* questions follow the four dimensions of the Cooper–Norcross Inventory of
  Preferences (Cooper & Norcross 2016, *International Journal of Clinical and Health Psychology*
  16(1):87–98): who directs the session, emotional intensity or reserve, a past or present
  focus, and warm support or focused challenge. The wording here is our own; we only borrow the
  idea that these are separate things a person may have a view about.

How the leaning is computed
---------------------------
Each answer to a leaning question points towards psychodynamic work, towards structured work,
or neither (the "a bit of both / not sure" answers and skipped questions). The support-or-
challenge question never leans: both approaches can be warm or challenging, so we record the
preference for the consultation instead of counting it. With ``p`` answers pointing towards
psychodynamic work and ``s`` towards structured work, the result is "leans psychodynamic" when
``p - s >= LEANING_MARGIN``, "leans structured" when ``s - p >= LEANING_MARGIN`` and "mixed"
otherwise. A small margin keeps a single answer from tipping the result. Practical questions,
concerns and the wellbeing question never affect the leaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal, cast

__all__ = [
    "CONCERNS",
    "CONCERN_LABELS",
    "CRISIS_ANSWERS",
    "DISCLAIMER",
    "HEADLINES",
    "ITEMS",
    "ITEMS_BY_KEY",
    "LEANING_MARGIN",
    "SECTION_TITLES",
    "Item",
    "Lean",
    "Leaning",
    "Option",
    "Preferences",
    "Reason",
    "SelfCheckResult",
    "client_data",
    "evaluate",
]

Lean = Literal["psychodynamic", "structured"]
Leaning = Literal["leans psychodynamic", "leans structured", "mixed"]
Kind = Literal["choice", "multi", "number", "text"]
Section = Literal["suitability", "preferences", "practical", "concerns", "safety"]
Setting = Literal["telehealth", "in_person", "either"]
Frequency = Literal["weekly", "more_than_weekly", "fortnightly", "not_sure"]

#: How far ahead one side must be before we call it a leaning (see the module docstring).
LEANING_MARGIN: Final = 2

#: The presenting-concern vocabulary shared with :mod:`reverie.directory.matching`.
CONCERNS: Final[tuple[str, ...]] = (
    "anxiety",
    "depression",
    "relationships",
    "attachment",
    "trauma",
    "self_esteem",
    "identity",
    "grief",
    "personality",
    "panic",
    "eating",
    "substance_use",
    "work_stress",
    "life_transitions",
)

CONCERN_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "anxiety": "Worry or anxiety",
        "depression": "Low mood or depression",
        "relationships": "Difficulties in relationships",
        "attachment": "Feeling insecure or stuck in how I attach to people",
        "trauma": "Something frightening or painful that happened to me",
        "self_esteem": "How I feel about myself",
        "identity": "Working out who I am",
        "grief": "Grief or loss",
        "personality": "Long-standing patterns in how I am with people",
        "panic": "Panic attacks",
        "eating": "Eating or body image",
        "substance_use": "Alcohol or drug use",
        "work_stress": "Stress at work or study",
        "life_transitions": "A big change in my life",
    }
)


@dataclass(frozen=True)
class Option:
    """One possible answer to a choice question.

    ``lean`` says which way the answer points, if any; ``because`` is the plain-language
    explanation appended to the person's own answer when we show them why.
    """

    value: str
    label: str
    lean: Lean | None = None
    because: str = ""

    def __post_init__(self) -> None:
        # The questionnaire is data that other people will edit; fail loudly at import time if
        # a leaning answer has nothing to tell the person.
        if self.lean is not None and not self.because:
            raise ValueError(f"option {self.value!r} leans {self.lean} but has no explanation")


@dataclass(frozen=True)
class Item:
    """One question of the self-check, described as data so forms and docs can be generated."""

    key: str
    section: Section
    prompt: str
    kind: Kind
    options: tuple[Option, ...] = ()
    required: bool = False
    hint: str = ""
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 80

    def __post_init__(self) -> None:
        if self.kind in ("choice", "multi") and not self.options:
            raise ValueError(f"item {self.key!r} is a {self.kind} question without options")
        values = [option.value for option in self.options]
        if len(set(values)) != len(values):
            raise ValueError(f"item {self.key!r} has duplicate option values")

    @property
    def values(self) -> tuple[str, ...]:
        """The accepted answer values, in display order."""
        return tuple(option.value for option in self.options)

    @property
    def leans(self) -> bool:
        """Whether any answer to this item counts towards the leaning."""
        return any(option.lean is not None for option in self.options)

    def option(self, value: str) -> Option:
        """Return the option with ``value``; raise ValueError naming the item otherwise."""
        for option in self.options:
            if option.value == value:
                return option
        allowed = ", ".join(self.values)
        raise ValueError(f"item {self.key!r}: {value!r} is not one of: {allowed}")


_NOT_SURE = "Some of each, or I'm not sure"

#: The questionnaire, in the order it is shown.
ITEMS: Final[tuple[Item, ...]] = (
    # --- How you would like to work (suitability themes) ---------------------------------
    Item(
        key="roots",
        section="suitability",
        prompt="What would you most like to get out of therapy?",
        kind="choice",
        options=(
            Option(
                "understand",
                "To understand why I feel and react the way I do, and where it comes from",
                "psychodynamic",
                "Psychodynamic therapy looks for the roots of feelings in your history and in "
                "patterns that keep coming back.",
            ),
            Option(
                "tools",
                "Practical ways to handle a specific problem, such as panic or low mood",
                "structured",
                "Structured therapies such as CBT teach focused skills for a clearly defined "
                "problem.",
            ),
            Option("both", _NOT_SURE),
        ),
    ),
    Item(
        key="talking",
        section="suitability",
        prompt="How do you usually come to understand something about yourself?",
        kind="choice",
        options=(
            Option(
                "talking",
                "By talking it through with someone and listening to what comes up",
                "psychodynamic",
                "Psychodynamic sessions are mostly open conversation, and much of the learning "
                "happens in the talking and listening.",
            ),
            Option(
                "practising",
                "By practising: exercises, worksheets and things to try between sessions",
                "structured",
                "CBT usually includes exercises in the session and practice in between.",
            ),
            Option("both", _NOT_SURE),
        ),
    ),
    Item(
        key="scope",
        section="suitability",
        prompt="Which is closer to what you are looking for?",
        kind="choice",
        options=(
            Option(
                "big_picture",
                "To know myself better and look at my life as a whole, not only one problem",
                "psychodynamic",
                "Psychodynamic therapy takes in the bigger picture and aims at greater "
                "self-awareness as well as relief.",
            ),
            Option(
                "one_problem",
                "To sort out one clearly defined problem",
                "structured",
                "Structured approaches work best with a clear target that you and the "
                "therapist agree at the start.",
            ),
            Option("both", _NOT_SURE),
        ),
    ),
    Item(
        key="pace",
        section="suitability",
        prompt="How do you feel about the pace and length of therapy?",
        kind="choice",
        options=(
            Option(
                "gradual",
                "I'm fine with gradual change, in work that may go on for months or more "
                "without a fixed end",
                "psychodynamic",
                "Psychodynamic therapy is often open-ended, and its benefits tend to last and "
                "can keep growing after it ends.",
            ),
            Option(
                "short",
                "I'd like a set number of sessions and to see progress quickly",
                "structured",
                "Structured therapies are often planned as a fixed, shorter course with "
                "progress checked along the way.",
            ),
            Option("both", _NOT_SURE),
        ),
    ),
    # --- Preferences (the four Cooper–Norcross dimensions, in our own words) -------------
    Item(
        key="who_leads",
        section="preferences",
        prompt="In a session, who would you like to steer the conversation?",
        kind="choice",
        options=(
            Option(
                "me",
                "Mostly me: I'd like room to bring whatever is on my mind",
                "psychodynamic",
                "Psychodynamic therapists usually follow your lead rather than set an agenda.",
            ),
            Option(
                "therapist",
                "Mostly the therapist: I'd like them to set the plan and guide the work",
                "structured",
                "In CBT the therapist usually sets an agenda with you and guides each session.",
            ),
            Option("both", "A mix, or I'm not sure"),
        ),
    ),
    Item(
        key="feelings",
        section="preferences",
        prompt="How much would you like to get into strong feelings during sessions?",
        kind="choice",
        options=(
            Option(
                "into_them",
                "I'd like to go into them, even when that is uncomfortable",
                "psychodynamic",
                "Psychodynamic therapy puts feelings, and putting them into words, at the centre.",
            ),
            Option(
                "steady",
                "I'd rather keep things calm and steady",
                "structured",
                "Structured approaches tend to work more with thoughts and actions than with "
                "feelings as they arise in the room.",
            ),
            Option("both", "Somewhere in between, or I'm not sure"),
        ),
    ),
    Item(
        key="time_focus",
        section="preferences",
        prompt="Where would you like most of the conversation to be?",
        kind="choice",
        options=(
            Option(
                "past",
                "On my past and how it shapes me now",
                "psychodynamic",
                "Psychodynamic therapy often explores earlier experiences and how they live on "
                "in the present.",
            ),
            Option(
                "present",
                "On what is happening now and what to do next",
                "structured",
                "CBT concentrates mainly on the here and now and on next steps.",
            ),
            Option("both", "Both, or I'm not sure"),
        ),
    ),
    Item(
        key="support_challenge",
        section="preferences",
        prompt="When therapy gets hard, what do you think would help you more?",
        kind="choice",
        hint="Both approaches can offer either, so this answer is passed on rather than counted.",
        options=(
            Option("support", "Warmth and encouragement"),
            Option("challenge", "Being gently but directly challenged"),
            Option("both", "A mix, or I'm not sure"),
        ),
    ),
    # --- Practical matters ----------------------------------------------------------------
    Item(
        key="frequency",
        section="practical",
        prompt="How often could you come to sessions?",
        kind="choice",
        options=(
            Option("weekly", "Once a week"),
            Option("more_than_weekly", "More than once a week"),
            Option("fortnightly", "Every other week"),
            Option("not_sure", "I'm not sure yet"),
        ),
    ),
    Item(
        key="budget",
        section="practical",
        prompt="About how much could you pay for each session, in US dollars?",
        kind="number",
        hint="Leave this empty if you are not sure or if cost is not a concern.",
        minimum=0,
        maximum=2000,
    ),
    Item(
        key="sliding_scale",
        section="practical",
        prompt="Would you need a sliding scale, meaning a lower fee based on what you can afford?",
        kind="choice",
        options=(
            Option("yes", "Yes, I would need a sliding scale"),
            Option("no", "No"),
        ),
    ),
    Item(
        key="insurance",
        section="practical",
        prompt="If you would like to use health insurance, which plan do you have?",
        kind="text",
        hint="Leave this empty if you would pay for sessions yourself.",
    ),
    Item(
        key="setting",
        section="practical",
        prompt="Would you like to meet by video or in person?",
        kind="choice",
        options=(
            Option("telehealth", "By video (telehealth)"),
            Option("in_person", "In person"),
            Option("either", "Either is fine"),
        ),
    ),
    Item(
        key="language",
        section="practical",
        prompt="Which language would you like to have therapy in?",
        kind="text",
        hint="Leave this empty if any language you share with the therapist is fine.",
    ),
    # --- What brings you ------------------------------------------------------------------
    Item(
        key="concerns",
        section="concerns",
        prompt="What would you like help with? Choose as many as you like.",
        kind="multi",
        options=tuple(Option(value, CONCERN_LABELS[value]) for value in CONCERNS),
    ),
    # --- Wellbeing ------------------------------------------------------------------------
    Item(
        key="wellbeing",
        section="safety",
        prompt=(
            "In the last two weeks, has any part of you wished you were no longer alive, or "
            "thought about harming yourself?"
        ),
        kind="choice",
        required=True,
        hint="Whatever you answer, you can still use the directory.",
        options=(
            Option("no", "No"),
            Option("yes", "Yes"),
            Option("unsure", "I'm not sure, or I'd rather not say"),
        ),
    ),
)

ITEMS_BY_KEY: Final[Mapping[str, Item]] = MappingProxyType({item.key: item for item in ITEMS})

#: Answers to the wellbeing item that show the crisis card. "Not sure / rather not say" is
#: included on purpose: the card only offers help, so showing it when in doubt costs little.
CRISIS_ANSWERS: Final[frozenset[str]] = frozenset({"yes", "unsure"})

DISCLAIMER: Final = (
    "This self-check is not a diagnosis and not an assessment of whether therapy, or any kind "
    "of therapy, is right for you. It only reflects the preferences you told us about. A first "
    "consultation with a therapist is the best way to find out what would suit you."
)

_MEANINGS: Final[Mapping[Leaning, str]] = MappingProxyType(
    {
        "leans psychodynamic": (
            "More of your answers fit the way psychodynamic therapy works: open conversation "
            "that explores feelings, patterns and your history, usually over months rather than "
            "weeks. That is a reason to consider it, not a verdict. A consultation is the place "
            "to see whether it feels right."
        ),
        "leans structured": (
            "More of your answers fit a structured approach such as CBT, which works on a "
            "defined problem with set goals, exercises and often a fixed number of sessions. A "
            "psychodynamic therapist may still suit you, and a good one will tell you honestly "
            "if another approach would serve you better. A consultation can help you decide."
        ),
        "mixed": (
            "Your answers point both ways, or not strongly either way. That is very common: "
            "many people want some understanding and some practical help. A consultation can "
            "help you work out what matters most to you."
        ),
    }
)

_MEANING_NO_ANSWERS: Final = (
    "You did not answer the questions about how you would like to work, so there is no leaning "
    "to show. That is fine: a consultation is a good place to talk it through."
)


@dataclass(frozen=True)
class Reason:
    """Why one answer points a particular way: the person's own answer plus an explanation."""

    item: str
    answer: str
    lean: Lean
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Preferences:
    """What the self-check passes on to the therapist directory.

    Only practical facts and the modality leaning are kept. The wellbeing answer is deliberately
    *not* carried here, so it can never reach matching, the directory or a therapist unless the
    person chooses to share it themselves.
    """

    concerns: tuple[str, ...] = ()
    language: str | None = None
    budget: int | None = None
    sliding_scale: bool = False
    insurance: str | None = None
    setting: Setting | None = None
    frequency: Frequency | None = None
    modality_leaning: Lean | None = None
    #: Recorded for the consultation; therapist profiles do not describe this, so matching
    #: does not use it.
    support_or_challenge: str | None = None

    @property
    def telehealth_ok(self) -> bool:
        """True unless the person asked for in-person sessions only."""
        return self.setting != "in_person"

    @property
    def in_person_ok(self) -> bool:
        """True unless the person asked for video sessions only."""
        return self.setting != "telehealth"


@dataclass(frozen=True)
class SelfCheckResult:
    """The explained outcome of :func:`evaluate`."""

    towards_psychodynamic: tuple[Reason, ...]
    towards_structured: tuple[Reason, ...]
    #: Leaning questions answered with "some of each / not sure".
    neither_count: int
    leaning: Leaning
    meaning: str
    disclaimer: str
    show_crisis_card: bool
    preferences: Preferences

    @property
    def psychodynamic_count(self) -> int:
        """How many answers point towards psychodynamic therapy."""
        return len(self.towards_psychodynamic)

    @property
    def structured_count(self) -> int:
        """How many answers point towards a structured approach such as CBT."""
        return len(self.towards_structured)

    @property
    def summary(self) -> str:
        """One line with the leaning and the counts behind it."""
        return (
            f"{self.leaning}: {self.psychodynamic_count} towards psychodynamic, "
            f"{self.structured_count} towards structured, {self.neither_count} neither"
        )


def _clean_choice(item: Item, raw: object) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"item {item.key!r}: expected one of {', '.join(item.values)}")
    return item.option(raw).value


def _clean_multi(item: Item, raw: object) -> tuple[str, ...]:
    # A bare string is iterable too; refusing it avoids reading "anxiety" as seven letters.
    if isinstance(raw, str | bytes) or not isinstance(raw, list | tuple | set | frozenset):
        raise ValueError(f"item {item.key!r}: expected a list of choices")
    chosen: set[str] = set()
    for value in raw:
        if not isinstance(value, str):
            raise ValueError(f"item {item.key!r}: every choice must be text, got {value!r}")
        chosen.add(item.option(value).value)
    # Vocabulary order, not submission order, keeps the result deterministic.
    return tuple(value for value in item.values if value in chosen)


def _clean_number(item: Item, raw: object) -> int:
    # bool is an int subclass; True as "1 dollar" would be a silent bug.
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"item {item.key!r}: expected a whole number, got {raw!r}")
    if item.minimum is not None and raw < item.minimum:
        raise ValueError(f"item {item.key!r}: {raw} is below the minimum of {item.minimum}")
    if item.maximum is not None and raw > item.maximum:
        raise ValueError(f"item {item.key!r}: {raw} is above the maximum of {item.maximum}")
    return raw


def _clean_text(item: Item, raw: object) -> str | None:
    if not isinstance(raw, str):
        raise ValueError(f"item {item.key!r}: expected text, got {raw!r}")
    text = " ".join(raw.split())
    if len(text) > item.max_length:
        raise ValueError(f"item {item.key!r}: keep this under {item.max_length} characters")
    return text or None


def _clean(item: Item, raw: object) -> object:
    """Validate one raw answer; return None when the person left it empty."""
    if raw is None:
        return None
    if item.kind == "choice":
        return _clean_choice(item, raw)
    if item.kind == "multi":
        return _clean_multi(item, raw)
    if item.kind == "number":
        return _clean_number(item, raw)
    return _clean_text(item, raw)


def _leaning(psychodynamic: int, structured: int) -> Leaning:
    if psychodynamic - structured >= LEANING_MARGIN:
        return "leans psychodynamic"
    if structured - psychodynamic >= LEANING_MARGIN:
        return "leans structured"
    return "mixed"


def evaluate(answers: Mapping[str, object]) -> SelfCheckResult:
    """Validate the answers and explain what they point towards.

    ``answers`` maps item keys (see :data:`ITEMS`) to values: an option value for choice
    questions, a list of option values for ``concerns``, a whole number of US dollars for
    ``budget`` and text for ``insurance`` and ``language``. Optional questions may be left out
    or given as ``None``. Unknown keys and invalid values raise :class:`ValueError` naming the
    item. The same answers always give the same result.

    >>> result = evaluate(
    ...     {"roots": "understand", "talking": "talking", "pace": "short", "time_focus": "past",
    ...      "budget": 90, "sliding_scale": "yes", "concerns": ["grief", "anxiety"],
    ...      "wellbeing": "no"}
    ... )
    >>> result.summary
    'leans psychodynamic: 3 towards psychodynamic, 1 towards structured, 0 neither'
    >>> print(result.towards_structured[0])  # doctest: +NORMALIZE_WHITESPACE
    You said: "I'd like a set number of sessions and to see progress quickly". Structured
    therapies are often planned as a fixed, shorter course with progress checked along the way.
    >>> result.preferences.concerns, result.preferences.modality_leaning
    (('anxiety', 'grief'), 'psychodynamic')
    >>> result.show_crisis_card
    False
    >>> evaluate({"wellbeing": "yes"}).show_crisis_card
    True
    """
    if not isinstance(answers, Mapping):
        raise ValueError("answers must be a mapping of item keys to answers")
    unknown = sorted(str(key) for key in answers if key not in ITEMS_BY_KEY)
    if unknown:
        raise ValueError(f"unknown self-check item(s): {', '.join(unknown)}")

    cleaned: dict[str, object] = {}
    for item in ITEMS:
        value = _clean(item, answers.get(item.key))
        if value is None or value == ():
            if item.required:
                raise ValueError(f"item {item.key!r} needs an answer: {item.prompt}")
            continue
        cleaned[item.key] = value

    towards: dict[Lean, list[Reason]] = {"psychodynamic": [], "structured": []}
    neither = 0
    for item in ITEMS:
        if not item.leans or item.key not in cleaned:
            continue
        option = item.option(str(cleaned[item.key]))
        if option.lean is None:
            neither += 1
            continue
        text = f'You said: "{option.label}". {option.because}'
        towards[option.lean].append(Reason(item.key, option.value, option.lean, text))

    p_count, s_count = len(towards["psychodynamic"]), len(towards["structured"])
    leaning = _leaning(p_count, s_count)
    meaning = _MEANINGS[leaning] if p_count + s_count + neither else _MEANING_NO_ANSWERS
    modality_leaning: Lean | None = None
    if leaning == "leans psychodynamic":
        modality_leaning = "psychodynamic"
    elif leaning == "leans structured":
        modality_leaning = "structured"

    concerns = cleaned.get("concerns", ())
    budget = cleaned.get("budget")
    preferences = Preferences(
        concerns=concerns if isinstance(concerns, tuple) else (),
        language=_text_or_none(cleaned.get("language")),
        budget=budget if isinstance(budget, int) else None,
        sliding_scale=cleaned.get("sliding_scale") == "yes",
        insurance=_text_or_none(cleaned.get("insurance")),
        # These two were checked against their option lists above, hence the casts.
        setting=cast("Setting | None", cleaned.get("setting")),
        frequency=cast("Frequency | None", cleaned.get("frequency")),
        modality_leaning=modality_leaning,
        support_or_challenge=_text_or_none(cleaned.get("support_challenge")),
    )
    return SelfCheckResult(
        towards_psychodynamic=tuple(towards["psychodynamic"]),
        towards_structured=tuple(towards["structured"]),
        neither_count=neither,
        leaning=leaning,
        meaning=meaning,
        disclaimer=DISCLAIMER,
        show_crisis_card=cleaned.get("wellbeing") in CRISIS_ANSWERS,
        preferences=preferences,
    )


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


#: The result's headline for each leaning, shown above the explanation.
HEADLINES: Final[Mapping[Leaning, str]] = MappingProxyType(
    {
        "leans psychodynamic": "Your answers lean towards psychodynamic therapy",
        "leans structured": "Your answers lean towards a structured approach such as CBT",
        "mixed": "Your answers point both ways",
    }
)

#: Headings for the sections of the questionnaire, in order.
SECTION_TITLES: Final[Mapping[Section, str]] = MappingProxyType(
    {
        "suitability": "How you would like to work",
        "preferences": "What you would like sessions to be like",
        "practical": "Practical matters",
        "concerns": "What brings you",
        "safety": "How you are doing",
    }
)


def client_data() -> dict[str, object]:
    """Everything the browser needs to evaluate the self-check itself, as JSON-ready data.

    The front door's script (``directory/static/directory/selfcheck.js``) repeats
    :func:`evaluate` from this data, so the answers never have to leave the person's device;
    a test runs both on the same answers and requires identical results.
    """
    return {
        "margin": LEANING_MARGIN,
        "items": [
            {
                "key": item.key,
                "kind": item.kind,
                "required": item.required,
                "prompt": item.prompt,
                "minimum": item.minimum,
                "maximum": item.maximum,
                "max_length": item.max_length,
                "options": [
                    {
                        "value": option.value,
                        "label": option.label,
                        "lean": option.lean,
                        "because": option.because,
                    }
                    for option in item.options
                ],
            }
            for item in ITEMS
        ],
        "meanings": dict(_MEANINGS),
        "no_answers": _MEANING_NO_ANSWERS,
        "headlines": dict(HEADLINES),
        "disclaimer": DISCLAIMER,
        "crisis_answers": sorted(CRISIS_ANSWERS),
    }
