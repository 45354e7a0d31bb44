"""FHIR R4 Questionnaire export and import for instrument definitions.

Three things live here:

* :func:`definition_to_questionnaire` renders an
  :class:`~reverie.measures.definitions.InstrumentDefinition` as an R4 ``Questionnaire`` in
  the style of HL7 Structured Data Capture (SDC): LOINC codes on items, ``answerOption`` with
  ``valueCoding``, and option weights carried both by the R4 ``ordinalValue`` extension (on
  the Coding) and by its successor ``itemWeight`` (on the answerOption). The result is
  validated against the ``fhir.resources`` R4B models (R4B shares R4's Questionnaire).
* :func:`questionnaire_to_definition` reads an SDC-style R4 ``Questionnaire`` back into a
  definition. Supported weight locations are documented on the function and in
  ``docs/instruments.md``.
* :func:`answers_from_questionnaire_response` turns an R4 ``QuestionnaireResponse`` into the
  ``{item_id: value}`` mapping :func:`reverie.measures.scoring.score` expects, and
  :func:`score_questionnaire_response` does both steps.

Extension URLs (checked against the HL7 specifications):

* ``http://hl7.org/fhir/StructureDefinition/ordinalValue`` - R4 core extension, decimal
  (https://hl7.org/fhir/R4/extension-ordinalvalue.json.html).
* ``http://hl7.org/fhir/StructureDefinition/itemWeight`` - FHIR Extensions Pack, decimal, the
  renamed ``ordinalValue``; "in questionnaires, this extension goes on answerOption where
  possible" (https://build.fhir.org/ig/HL7/fhir-extensions/StructureDefinition-itemWeight.html).
* ``http://hl7.org/fhir/concept-properties#itemWeight`` - the CodeSystem concept property
  that carries the same weight inside a CodeSystem.
* ``http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression``
  and ``http://hl7.org/fhir/StructureDefinition/questionnaire-unit`` on the total item.

FHIR and SDC have no place for what makes a score clinically readable (severity bands, the
caseness cut-off, the reliable-change threshold with its norms, critical items, subscales,
the missing-data rule, which way is better), so Reverie defines two extensions of its own,
written on export and read on import (``docs/instruments.md`` documents both):

* :data:`SCORING_RULES_URL` on the Questionnaire, ``valueString`` holding a JSON object with
  any of the definition keys ``bands``, ``caseness``, ``reliable_change``,
  ``critical_items``, ``subscales``, ``missing``, ``method``, ``higher_is_worse`` /
  ``higher_is_better``, in exactly the definition format.
* :data:`REVERSE_SCORED_URL` on an item, ``valueBoolean`` true: the item is reverse-scored.
  The option weights on the Questionnaire are still the *effective* weights (what a form
  filler sums), so the import reverses them back to the raw weights and marks the item.
* :data:`OPTION_VALUE_URL` on an answerOption, ``valueInteger``: the option's raw value, written
  only where it differs from the option's weight (the CORE-OM's options are printed 0-4 and
  weigh 0-40), so that an import records the same raw values.

No Django, no ORM: plain dicts in, plain dicts out.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any, Final

from fhir.resources.R4B.questionnaire import Questionnaire
from pydantic import ValidationError

from reverie.measures.definitions import (
    FORMAT,
    Coding,
    InstrumentDefinition,
    Item,
    Number,
    Option,
    load_definition,
)
from reverie.measures.scoring import ScoreResult, score

__all__ = [
    "CALCULATED_EXPRESSION_URL",
    "DEFAULT_BASE_URL",
    "INSTRUCTIONS_LINK_ID",
    "ITEM_WEIGHT_PROPERTY_URI",
    "ITEM_WEIGHT_URL",
    "OPTION_VALUE_URL",
    "ORDINAL_VALUE_URL",
    "QUESTIONNAIRE_UNIT_URL",
    "REVERSE_SCORED_URL",
    "SCORING_RULES_URL",
    "TOTAL_SCORE_LINK_ID",
    "UNSCORED_ITEM_URL",
    "answers_from_questionnaire_response",
    "definition_to_questionnaire",
    "questionnaire_to_definition",
    "questionnaire_to_document",
    "score_questionnaire_response",
    "scoring_rules",
]

DEFAULT_BASE_URL: Final = "http://reverie.local/fhir"
ORDINAL_VALUE_URL: Final = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
ITEM_WEIGHT_URL: Final = "http://hl7.org/fhir/StructureDefinition/itemWeight"
ITEM_WEIGHT_PROPERTY_URI: Final = "http://hl7.org/fhir/concept-properties#itemWeight"
CALCULATED_EXPRESSION_URL: Final = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
)
QUESTIONNAIRE_UNIT_URL: Final = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
#: Reverie's marker for items that are asked but never scored (no FHIR standard exists).
UNSCORED_ITEM_URL: Final = "http://reverie.local/fhir/StructureDefinition/unscored-item"
#: Reverie's extension carrying bands, caseness, reliable change, critical items, subscales,
#: the missing-data rule and the direction, as a JSON object in ``valueString``.
SCORING_RULES_URL: Final = "http://reverie.local/fhir/StructureDefinition/scoring-rules"
#: Reverie's marker for reverse-scored items (``valueBoolean``).
REVERSE_SCORED_URL: Final = "http://reverie.local/fhir/StructureDefinition/reverse-scored"
#: Reverie's extension giving an option's raw value (``valueInteger``) where it is not its weight.
OPTION_VALUE_URL: Final = "http://reverie.local/fhir/StructureDefinition/option-value"
#: Keys the scoring-rules extension may carry.
SCORING_RULE_KEYS: Final = (
    "bands",
    "caseness",
    "reliable_change",
    "critical_items",
    "subscales",
    "missing",
    "method",
    "higher_is_worse",
    "higher_is_better",
    "timing",
)
#: Older URLs for the same ordinal weight, accepted on import only.
LEGACY_WEIGHT_URLS: Final = (
    "http://hl7.org/fhir/StructureDefinition/questionnaire-ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/valueset-ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/iso21090-CO-value",
)
_WEIGHT_URLS: Final = (ITEM_WEIGHT_URL, ORDINAL_VALUE_URL, *LEGACY_WEIGHT_URLS)

TOTAL_SCORE_LINK_ID: Final = "total-score"
INSTRUCTIONS_LINK_ID: Final = "instructions"
_UCUM: Final = "http://unitsofmeasure.org"
_NUMERIC_TYPES: Final = frozenset({"integer", "decimal", "quantity"})


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


def _coding_json(coding: Coding) -> dict[str, Any]:
    out: dict[str, Any] = {"system": coding.system, "code": coding.code}
    if coding.display:
        out["display"] = coding.display
    return out


def _fhirpath_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _computable_name(text: str) -> str:
    # FHIR recommends names usable as identifiers: start with a capital, then [A-Za-z0-9_].
    name = re.sub(r"[^A-Za-z0-9_]", "", text)
    if not name or not name[0].isalpha():
        name = "Q" + name
    return name[0].upper() + name[1:]


def _option_json(option: Option, weight: Number | None, carry_value: bool) -> dict[str, Any]:
    coding: dict[str, Any] = {"code": option.code, "display": option.display}
    if option.system:
        coding = {"system": option.system, **coding}
    answer: dict[str, Any] = {"valueCoding": coding}
    if weight is not None:
        # R4: ordinalValue on the Coding. Newer SDC/Extensions Pack: itemWeight on the
        # answerOption. Emitting both lets R4-era and current form fillers compute scores.
        coding["extension"] = [{"url": ORDINAL_VALUE_URL, "valueDecimal": weight}]
        answer["extension"] = [{"url": ITEM_WEIGHT_URL, "valueDecimal": weight}]
    if carry_value:
        # The raw value cannot be recovered from the weight (the CORE-OM's options are 0-4
        # as printed and weigh 0-40), so it travels in Reverie's own extension.
        answer.setdefault("extension", []).append(
            {"url": OPTION_VALUE_URL, "valueInteger": option.value}
        )
    return answer


def _item_json(definition: InstrumentDefinition, item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {
        "linkId": item.id,
        "prefix": f"{item.number}.",
        "text": item.text,
        "type": "choice",
        # Only demand an answer when the scoring rule would refuse a missing one.
        "required": item.scored and definition.missing.handling == "refuse",
    }
    if item.codes:
        out["code"] = [_coding_json(code) for code in item.codes]
    if not item.scored:
        out["extension"] = [{"url": UNSCORED_ITEM_URL, "valueBoolean": True}]
    elif item.reverse:
        out["extension"] = [{"url": REVERSE_SCORED_URL, "valueBoolean": True}]
    # Export effective (post-reverse) weights so that summing weights gives the total. An
    # unscored item keeps its weights when a subscale counts it (the SPARQ's Negative affect).
    weighted = item.scored or any(
        member.item_id == item.id for sub in definition.subscales for member in sub.members
    )
    # Raw values travel only for weighted items where some value is not its option's weight
    # (an unscored item's options weigh nothing and are imported by position, as before).
    carry_values = weighted and any(option.value != option.weight for option in item.options)
    out["answerOption"] = [
        _option_json(option, item.weights[option.value] if weighted else None, carry_values)
        for option in item.options
    ]
    return out


def _total_item_json(definition: InstrumentDefinition) -> dict[str, Any]:
    total: dict[str, Any] = {
        "linkId": TOTAL_SCORE_LINK_ID,
        "text": f"{definition.short_name} total score",
        "type": "integer" if definition.integer_scores else "decimal",
        "readOnly": True,
        "extension": [
            {
                "url": QUESTIONNAIRE_UNIT_URL,
                "valueCoding": {"system": _UCUM, "code": "{score}", "display": "score"},
            }
        ],
    }
    if definition.total_code is not None:
        total["code"] = [_coding_json(definition.total_code)]
    if definition.method == "sum" and definition.missing.handling == "refuse":
        # A plain sum of weights is only the total when every item must be answered;
        # prorated and mean scores are left to Reverie's engine rather than approximated.
        link_ids = " | ".join(_fhirpath_string(i) for i in definition.scored_item_ids)
        total["extension"].append(
            {
                "url": CALCULATED_EXPRESSION_URL,
                "valueExpression": {
                    "description": f"{definition.short_name} total: sum of item weights",
                    "language": "text/fhirpath",
                    "expression": (
                        f"%resource.repeat(item).where(linkId in ({link_ids}))"
                        ".answer.value.weight().sum()"
                    ),
                },
            }
        )
    return total


def _copyright(definition: InstrumentDefinition) -> str:
    """The licence terms, led by the holder's required attribution line when the terms do
    not already contain it (the CORE-10's copyright line must travel with the form)."""
    licence = definition.licence
    if licence.attribution and licence.attribution not in licence.terms:
        return f"{licence.attribution}\n\n{licence.terms}"
    return licence.terms


def definition_to_questionnaire(
    definition: InstrumentDefinition,
    *,
    base_url: str = DEFAULT_BASE_URL,
    status: str = "active",
) -> dict[str, Any]:
    """Export a definition as an SDC-style FHIR R4 ``Questionnaire`` (JSON-ready dict).

    Parameters
    ----------
    definition : InstrumentDefinition
        The instrument to export.
    base_url : str, default ``http://reverie.local/fhir``
        FHIR base of the canonical URL; the Questionnaire's ``url`` is
        ``{base_url}/Questionnaire/{definition.id}``. Deployments set this to their own
        public FHIR base.
    status : str, default "active"
        ``Questionnaire.status``.

    Returns
    -------
    dict
        The resource. ``linkId`` of each item is the item id; a display item
        (``instructions``) carries the stem and a read-only item (``total-score``) the total
        with its LOINC code, a ``{score}`` unit and, for complete-sum instruments, an SDC
        ``calculatedExpression``.

    Raises
    ------
    ValueError
        If the produced resource does not validate against the R4B Questionnaire model
        (which would be a bug in this function).

    Examples
    --------
    >>> from reverie.measures.definitions import load_shipped
    >>> q = definition_to_questionnaire(load_shipped()["phq-9"], base_url="https://fhir.example.org/r4/")
    >>> q["url"], q["code"][0]["code"]
    ('https://fhir.example.org/r4/Questionnaire/phq-9', '44249-1')
    """
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": definition.id,
        "language": definition.language,
        "url": f"{base_url.rstrip('/')}/Questionnaire/{definition.id}",
        "version": definition.version,
        "name": _computable_name(definition.short_name),
        "title": definition.name,
        "status": status,
        "subjectType": ["Patient"],
        "description": definition.description,
        "copyright": _copyright(definition),
    }
    if definition.codes:
        resource["code"] = [_coding_json(code) for code in definition.codes]
    resource["extension"] = [
        {
            "url": SCORING_RULES_URL,
            "valueString": json.dumps(scoring_rules(definition), ensure_ascii=False),
        }
    ]
    items: list[dict[str, Any]] = []
    if definition.instructions:
        items.append(
            {"linkId": INSTRUCTIONS_LINK_ID, "text": definition.instructions, "type": "display"}
        )
    items.extend(_item_json(definition, item) for item in definition.items)
    items.append(_total_item_json(definition))
    resource["item"] = items
    try:
        Questionnaire.model_validate(resource)
    except ValidationError as error:
        raise ValueError(f"exported Questionnaire {definition.id!r} is invalid: {error}") from error
    return resource


def _plain(value: Any) -> Any:
    """A dataclass value (Source, NormValue ...) as definition-format JSON, empties dropped."""
    if value is None:
        return None
    if hasattr(value, "__dataclass_fields__"):
        out = {}
        for name in value.__dataclass_fields__:
            field_value = _plain(getattr(value, name))
            if field_value not in (None, (), [], {}):
                out[name] = field_value
        return out
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def scoring_rules(definition: InstrumentDefinition) -> dict[str, Any]:
    """What the :data:`SCORING_RULES_URL` extension carries for ``definition``.

    The result is in definition format, so :func:`questionnaire_to_document` can put it back
    unchanged: an exported and re-imported instrument keeps its bands, caseness, reliable
    change (with norms), critical items, subscales, missing-data rule and direction.

    >>> from reverie.measures.definitions import load_shipped
    >>> rules = scoring_rules(load_shipped()["phq-9"])
    >>> rules["caseness"]["threshold"], rules["critical_items"][0]["item"]
    (10, 'phq9-9')
    """
    rules: dict[str, Any] = {
        "method": definition.method,
        "higher_is_worse": definition.higher_is_worse,
        "missing": _plain(definition.missing),
    }
    if definition.bands:
        rules["bands"] = _plain(definition.bands)
    if definition.caseness is not None:
        rules["caseness"] = _plain(definition.caseness)
    if definition.reliable_change is not None:
        rules["reliable_change"] = _plain(definition.reliable_change)
    if definition.critical_items:
        rules["critical_items"] = [
            {("item" if k == "item_id" else k): v for k, v in _plain(c).items()}
            for c in definition.critical_items
        ]
    if definition.timing != "before_session":
        rules["timing"] = definition.timing
    if definition.subscales:
        rules["subscales"] = [
            {
                **{k: v for k, v in _plain(sub).items() if k != "members"},
                "items": [
                    m.item_id
                    if m.recode is None
                    else {"item": m.item_id, "recode": {str(k): v for k, v in m.recode.items()}}
                    for m in sub.members
                ],
            }
            for sub in definition.subscales
        ]
    return rules


def _read_scoring_rules(questionnaire: Mapping[str, Any]) -> dict[str, Any]:
    found = [
        ext
        for ext in questionnaire.get("extension") or ()
        if isinstance(ext, Mapping) and ext.get("url") == SCORING_RULES_URL
    ]
    if not found:
        return {}
    if len(found) > 1:
        raise ValueError(f"Questionnaire has {len(found)} scoring-rules extensions; expected one")
    text = found[0].get("valueString")
    if not isinstance(text, str):
        raise ValueError("scoring-rules extension: valueString must hold a JSON object")
    try:
        rules = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"scoring-rules extension is not valid JSON: {error}") from error
    if not isinstance(rules, dict):
        raise ValueError("scoring-rules extension: valueString must hold a JSON object")
    unknown = sorted(set(rules) - set(SCORING_RULE_KEYS))
    if unknown:
        raise ValueError(
            f"scoring-rules extension: unknown key(s) {', '.join(unknown)}; "
            f"allowed are {', '.join(SCORING_RULE_KEYS)}"
        )
    return rules


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------


def _weight_value(extension: Mapping[str, Any], where: str) -> Number:
    for key in ("valueDecimal", "valueInteger"):
        value = extension.get(key)
        if value is not None and not isinstance(value, bool) and isinstance(value, int | float):
            return value
    raise ValueError(f"{where}: weight extension {extension.get('url')!r} has no numeric value")


def _weights_in(extensions: Any, where: str) -> list[Number]:
    found = []
    for extension in extensions or ():
        if isinstance(extension, Mapping) and extension.get("url") in _WEIGHT_URLS:
            found.append(_weight_value(extension, where))
    return found


class _CodeSystemWeights:
    """Weights and displays of the concepts of one contained CodeSystem."""

    def __init__(self, code_system: Mapping[str, Any]) -> None:
        # Property codes are local to the CodeSystem; the uri says what they mean.
        weight_codes = {"itemWeight"} | {
            prop["code"]
            for prop in code_system.get("property", ())
            if prop.get("uri") == ITEM_WEIGHT_PROPERTY_URI and "code" in prop
        }
        self.concepts: dict[str, tuple[str | None, list[Number]]] = {}
        where = f"CodeSystem {code_system.get('url') or code_system.get('id')!r}"
        for concept in self._flatten(code_system.get("concept", ())):
            if not concept.get("code"):
                raise ValueError(f"{where}: concept without a code")
            weights = _weights_in(concept.get("extension"), where)
            for prop in concept.get("property", ()):
                if prop.get("code") in weight_codes:
                    weights.append(_weight_value(prop, f"{where} concept {concept.get('code')!r}"))
            self.concepts[concept["code"]] = (concept.get("display"), weights)

    @classmethod
    def _flatten(cls, concepts: Any) -> Iterator[Mapping[str, Any]]:
        for concept in concepts or ():
            yield concept
            yield from cls._flatten(concept.get("concept"))


class _Contained:
    """Index of the contained ValueSets and CodeSystems of a Questionnaire."""

    def __init__(self, questionnaire: Mapping[str, Any]) -> None:
        self.value_sets: dict[str, Mapping[str, Any]] = {}
        self.code_systems: dict[str, _CodeSystemWeights] = {}
        for resource in questionnaire.get("contained", ()):
            kind = resource.get("resourceType")
            if kind == "ValueSet" and resource.get("id"):
                self.value_sets[resource["id"]] = resource
            elif kind == "CodeSystem" and resource.get("url"):
                self.code_systems[resource["url"]] = _CodeSystemWeights(resource)

    def code_system_weights(self, system: str | None, code: str) -> tuple[str | None, list[Number]]:
        code_system = self.code_systems.get(system or "")
        if code_system is None or code not in code_system.concepts:
            return None, []
        return code_system.concepts[code]


class _RawOption:
    """An answer option as read from FHIR, before raw values are assigned."""

    __slots__ = ("code", "display", "integer", "system", "value", "weight")

    def __init__(
        self,
        code: str,
        system: str | None,
        display: str,
        weight: Number | None,
        integer: int | None = None,
        value: int | None = None,
    ) -> None:
        self.code = code
        self.system = system
        self.display = display
        self.weight = weight
        self.integer = integer
        self.value = value


def _option_value(extensions: Any, where: str) -> int | None:
    """The raw value Reverie's :data:`OPTION_VALUE_URL` extension gives, if any."""
    for extension in extensions or ():
        if isinstance(extension, Mapping) and extension.get("url") == OPTION_VALUE_URL:
            value = extension.get("valueInteger")
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{where}: option-value extension needs a valueInteger")
            return value
    return None


def _single_weight(weights: Sequence[Number], where: str) -> Number | None:
    distinct = set(weights)
    if len(distinct) > 1:
        raise ValueError(f"{where}: conflicting weights {sorted(distinct)}")
    return weights[0] if weights else None


def _options_from_answer_options(
    item: Mapping[str, Any], contained: _Contained, link_id: str
) -> list[_RawOption]:
    options = []
    for index, answer in enumerate(item["answerOption"]):
        where = f"item {link_id!r} answerOption[{index}]"
        if "valueCoding" in answer:
            coding = answer["valueCoding"]
            code = coding.get("code")
            if not code:
                raise ValueError(f"{where}: valueCoding has no code")
            system = coding.get("system")
            cs_display, cs_weights = contained.code_system_weights(system, code)
            weights = [
                *_weights_in(answer.get("extension"), where),
                *_weights_in(coding.get("extension"), where),
                *cs_weights,
            ]
            options.append(
                _RawOption(
                    code=code,
                    system=system,
                    display=coding.get("display") or cs_display or code,
                    weight=_single_weight(weights, f"{where} (code {code!r})"),
                    value=_option_value(answer.get("extension"), where),
                )
            )
        elif "valueInteger" in answer:
            integer = answer["valueInteger"]
            # An integer option is its own score unless a weight extension says otherwise.
            explicit = _single_weight(_weights_in(answer.get("extension"), where), where)
            options.append(
                _RawOption(
                    code=str(integer),
                    system=None,
                    display=str(integer),
                    weight=integer if explicit is None else explicit,
                    integer=integer,
                )
            )
        else:
            kinds = sorted(key for key in answer if key.startswith("value"))
            raise ValueError(
                f"{where}: only valueCoding and valueInteger options can be scored; got {kinds}"
            )
    return options


def _options_from_value_set(
    reference: str, contained: _Contained, link_id: str
) -> list[_RawOption]:
    if not reference.startswith("#"):
        raise ValueError(
            f"item {link_id!r}: answerValueSet {reference!r} is not a contained ValueSet; "
            "weights can only be resolved offline from contained resources ('#id')"
        )
    value_set = contained.value_sets.get(reference[1:])
    if value_set is None:
        raise ValueError(f"item {link_id!r}: no contained ValueSet with id {reference[1:]!r}")
    where = f"item {link_id!r} ValueSet {reference!r}"
    options = []

    def add(system: str | None, code: str | None, display: str | None, extension: Any) -> None:
        if not code:
            raise ValueError(f"{where}: concept without a code")
        cs_display, cs_weights = contained.code_system_weights(system, code)
        weights = [*_weights_in(extension, where), *cs_weights]
        options.append(
            _RawOption(
                code=code,
                system=system,
                display=display or cs_display or code,
                weight=_single_weight(weights, f"{where} (code {code!r})"),
            )
        )

    expansion = value_set.get("expansion")
    if expansion and expansion.get("contains"):
        # An expansion is the authoritative, ordered list when present.
        def walk(entries: Any) -> None:
            for entry in entries or ():
                if not entry.get("abstract") and entry.get("code"):
                    add(
                        entry.get("system"),
                        entry["code"],
                        entry.get("display"),
                        entry.get("extension"),
                    )
                walk(entry.get("contains"))

        walk(expansion["contains"])
        return options

    compose = value_set.get("compose")
    if not compose:
        raise ValueError(f"{where}: has neither an expansion nor a compose")
    if compose.get("exclude"):
        raise ValueError(f"{where}: compose.exclude is not supported")
    for include in compose.get("include", ()):
        system = include.get("system")
        if include.get("filter") or include.get("valueSet"):
            raise ValueError(f"{where}: include filters and nested valueSets are not supported")
        if include.get("concept"):
            for concept in include["concept"]:
                add(system, concept.get("code"), concept.get("display"), concept.get("extension"))
        elif system in contained.code_systems:
            for code, (display, _) in contained.code_systems[system].concepts.items():
                add(system, code, display, None)
        else:
            raise ValueError(
                f"{where}: include of whole code system {system!r} needs that CodeSystem contained"
            )
    return options


def _raw_values(options: Sequence[_RawOption]) -> list[int]:
    """Choose the raw value recorded for each option in an answers mapping."""
    if all(option.integer is not None for option in options):
        return [option.integer for option in options]  # type: ignore[misc]
    given = [option.value for option in options]
    if all(value is not None for value in given) and len(set(given)) == len(given):
        # Reverie's option-value extension: the values the exporting definition recorded.
        return given  # type: ignore[return-value]
    weights = [option.weight for option in options]
    if all(w is not None and float(w).is_integer() for w in weights) and len(set(weights)) == len(
        weights
    ):
        # Distinct whole-number weights (the PHQ-9 pattern) double as raw values.
        return [int(w) for w in weights]  # type: ignore[arg-type]
    # Otherwise fall back to the option's position, which is always unique.
    return list(range(len(options)))


def _has_extension(item: Mapping[str, Any], url: str) -> bool:
    return any(ext.get("url") == url for ext in item.get("extension", ()))


def _is_total_item(item: Mapping[str, Any]) -> bool:
    return item.get("type") in _NUMERIC_TYPES and (
        bool(item.get("readOnly"))
        or _has_extension(item, CALCULATED_EXPRESSION_URL)
        or _has_extension(item, QUESTIONNAIRE_UNIT_URL)
    )


def _codings(raw: Any) -> list[dict[str, Any]]:
    return [
        {key: coding[key] for key in ("system", "code", "display") if coding.get(key)}
        for coding in raw or ()
        if coding.get("system") and coding.get("code")
    ]


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:63].rstrip("-")


def questionnaire_to_definition(
    questionnaire: Mapping[str, Any],
    *,
    instrument_id: str | None = None,
    version: str | None = None,
    licence: Mapping[str, Any] | None = None,
    source: Mapping[str, Any] | None = None,
    unscored_link_ids: Collection[str] = (),
) -> InstrumentDefinition:
    """Import an SDC-style FHIR R4 ``Questionnaire`` as an instrument definition.

    The same as ``load_definition(questionnaire_to_document(...))``; see
    :func:`questionnaire_to_document` for what is read and what is refused.
    """
    return load_definition(
        questionnaire_to_document(
            questionnaire,
            instrument_id=instrument_id,
            version=version,
            licence=licence,
            source=source,
            unscored_link_ids=unscored_link_ids,
        )
    )


def questionnaire_to_document(
    questionnaire: Mapping[str, Any],
    *,
    instrument_id: str | None = None,
    version: str | None = None,
    licence: Mapping[str, Any] | None = None,
    source: Mapping[str, Any] | None = None,
    unscored_link_ids: Collection[str] = (),
) -> dict[str, Any]:
    """Translate an SDC-style FHIR R4 ``Questionnaire`` into a definition document.

    The document is what an instrument row stores; :func:`questionnaire_to_definition`
    validates it into an :class:`InstrumentDefinition`.

    Supported
    ---------
    * ``choice``/``open-choice`` items, nested in ``group`` items to any depth; ``display``
      items are skipped (the first one's text becomes the instructions).
    * ``answerOption`` with ``valueCoding`` (or ``valueInteger``, scored as the integer unless
      a weight extension overrides it).
    * Weights from the ``itemWeight`` or ``ordinalValue`` extension (or the pre-R4
      ``questionnaire-ordinalValue``, ``valueset-ordinalValue`` and ``iso21090-CO-value``)
      on the answerOption or on its valueCoding.
    * ``answerValueSet`` referring to a *contained* ValueSet (``#id``): concepts from its
      ``expansion.contains`` or its ``compose.include`` (listed concepts, or a whole
      contained CodeSystem), with weights on the concept extensions.
    * Weights from a contained CodeSystem whose ``url`` is the option's system: concept
      ``property`` whose code is declared with uri
      ``http://hl7.org/fhir/concept-properties#itemWeight`` (or is named ``itemWeight``),
      or a weight extension on the concept.
    * A numeric item that is ``readOnly`` or has ``calculatedExpression`` or
      ``questionnaire-unit`` is taken as the total-score item: its ``code`` becomes the
      definition's ``total_code``. The expression itself is not evaluated: Reverie's total
      is the sum of the option weights, which is what SDC scoring expressions compute.

    * Reverie's :data:`SCORING_RULES_URL` extension on the Questionnaire (bands, caseness,
      reliable change, critical items, subscales, missing-data rule, method, direction, in
      definition format) and :data:`REVERSE_SCORED_URL` on items. Everything they carry is
      validated like a shipped definition, so a wrong band or cut-off is refused with the
      path of the field.

    Without the extension the imported definition scores as a sum, refuses incomplete
    responses and has no bands, caseness, reliable change or critical items.

    Parameters
    ----------
    questionnaire : Mapping
        The Questionnaire as parsed JSON.
    instrument_id : str, optional
        Definition id; defaults to a slug of ``Questionnaire.id`` (or ``name``).
    version : str, optional
        Definition version; defaults to ``Questionnaire.version`` or ``"0"``.
    licence : Mapping, optional
        Licence object in definition format. Without it the licence is built from
        ``Questionnaire.copyright`` with ``electronic_use: "unknown"``; a Questionnaire with
        neither is refused, because Reverie does not use instruments of unknown provenance.
    source : Mapping, optional
        Source object in definition format; defaults to a citation of the Questionnaire.
    unscored_link_ids : collection of str
        Choice items that are asked but not scored. Items carrying Reverie's
        ``unscored-item`` extension are recognised without being listed.

    Returns
    -------
    dict
        A definition document in ``reverie.instrument/1`` format (not yet validated).

    Raises
    ------
    ValueError
        For anything that cannot be imported faithfully: not a valid R4 Questionnaire, an
        option without a weight (naming the linkId and code), conflicting weights, external
        ValueSets, unsupported item types, no copyright, or an invalid resulting definition.
    """
    if (
        not isinstance(questionnaire, Mapping)
        or questionnaire.get("resourceType") != "Questionnaire"
    ):
        kind = questionnaire.get("resourceType") if isinstance(questionnaire, Mapping) else None
        raise ValueError(f"expected a FHIR Questionnaire resource, got resourceType {kind!r}")
    try:
        Questionnaire.model_validate(dict(questionnaire))
    except ValidationError as error:
        raise ValueError(f"not a valid FHIR R4 Questionnaire: {error}") from error

    contained = _Contained(questionnaire)
    unscored = set(unscored_link_ids)
    items: list[dict[str, Any]] = []
    state: dict[str, Any] = {"instructions": None, "total_code": None}

    def walk(children: Any) -> None:
        for child in children or ():
            link_id = child["linkId"]
            kind = child["type"]
            if kind == "group" or kind == "display":
                if state["instructions"] is None and child.get("text"):
                    state["instructions"] = child["text"]
            elif kind in ("choice", "open-choice"):
                items.append(_import_item(child, contained, len(items) + 1, unscored))
            elif _is_total_item(child):
                codes = _codings(child.get("code"))
                if state["total_code"] is None and codes:
                    state["total_code"] = codes[0]
            else:
                raise ValueError(
                    f"item {link_id!r}: type {kind!r} cannot be scored; only choice items "
                    "(and a read-only or calculated total) are supported"
                )
            walk(child.get("item"))

    walk(questionnaire.get("item"))
    if not items:
        raise ValueError("Questionnaire has no choice items to score")

    if licence is None:
        copyright_text = questionnaire.get("copyright")
        if not copyright_text:
            raise ValueError(
                "Questionnaire has no copyright statement; pass licence= with the terms under "
                "which the instrument may be used"
            )
        licence = {
            "holder": questionnaire.get("publisher") or "unknown (see terms)",
            "terms": copyright_text,
            "electronic_use": "unknown",
            "note": "Taken from Questionnaire.copyright on import; review before clinical use.",
        }
    url = questionnaire.get("url")
    title = questionnaire.get("title") or questionnaire.get("name") or "untitled"
    if source is None:
        citation = f"FHIR Questionnaire '{title}'"
        if questionnaire.get("publisher"):
            citation += f", published by {questionnaire['publisher']}"
        if url:
            citation += f", {url}"
            if questionnaire.get("version"):
                citation += f"|{questionnaire['version']}"
        source = {"citation": citation, "url": url} if url else {"citation": citation}

    rules = _read_scoring_rules(questionnaire)
    scoring: dict[str, Any] = {
        "method": rules.get("method", "sum"),
        "missing": rules.get("missing", {"max_missing": 0, "handling": "refuse"}),
    }
    for key in ("higher_is_worse", "higher_is_better"):
        if key in rules:
            scoring[key] = rules[key]
    identifier = instrument_id or _slug(questionnaire.get("id") or questionnaire.get("name") or "")
    document = {
        "format": FORMAT,
        "id": identifier,
        "version": version or questionnaire.get("version") or "0",
        "name": title,
        "short_name": questionnaire.get("name") or title,
        "description": questionnaire.get("description")
        or f"Imported from FHIR Questionnaire {title}.",
        "language": questionnaire.get("language") or "en",
        "respondent": "unspecified",
        "instructions": state["instructions"],
        "codes": _codings(questionnaire.get("code")),
        "total_code": state["total_code"],
        "items": items,
        "scoring": scoring,
        "bands": rules.get("bands"),
        "caseness": rules.get("caseness"),
        "reliable_change": rules.get("reliable_change"),
        "critical_items": rules.get("critical_items"),
        "subscales": rules.get("subscales"),
        "timing": rules.get("timing"),
        "source": dict(source),
        "licence": dict(licence),
        "notes": (
            "Imported from a FHIR Questionnaire; bands, caseness, reliable change, critical "
            "items, subscales and the missing-data rule come from its scoring-rules extension."
            if rules
            else "Imported from a FHIR Questionnaire. Bands, caseness, reliable change, "
            "critical items and missing-data rules are not carried by SDC and were not set."
        ),
    }
    # None-valued optional fields are dropped so the document is valid JSON for a row.
    return {key: value for key, value in document.items() if value is not None}


def _import_item(
    item: Mapping[str, Any], contained: _Contained, number: int, unscored: set[str]
) -> dict[str, Any]:
    link_id = item["linkId"]
    if item.get("answerOption"):
        raw_options = _options_from_answer_options(item, contained, link_id)
    elif item.get("answerValueSet"):
        raw_options = _options_from_value_set(item["answerValueSet"], contained, link_id)
    else:
        raise ValueError(f"item {link_id!r}: choice item without answerOption or answerValueSet")
    if item.get("repeats"):
        raise ValueError(f"item {link_id!r}: repeating (multi-select) items cannot be scored")

    is_unscored = link_id in unscored or _has_extension(item, UNSCORED_ITEM_URL)
    if not is_unscored:
        for option in raw_options:
            if option.weight is None:
                raise ValueError(
                    f"item {link_id!r}: option {option.code!r} has no weight (expected an "
                    "itemWeight/ordinalValue extension or a CodeSystem itemWeight property); "
                    "pass unscored_link_ids if the item is not scored"
                )
    reverse = not is_unscored and _has_extension(item, REVERSE_SCORED_URL)
    if reverse:
        # The Questionnaire carries effective weights; keep the raw ones (and derive raw
        # values from them) and mark the item reverse-scored, which gives back exactly the
        # same effective weights and the same values as the exported definition.
        weights = [option.weight for option in raw_options]
        low, high = min(weights), max(weights)  # type: ignore[type-var]
        for option in raw_options:
            option.weight = low + high - option.weight  # type: ignore[operator]
    # An unscored item that carries weights (one a subscale counts) keeps them.
    weighted = not is_unscored or all(option.weight is not None for option in raw_options)
    values = _raw_values(raw_options) if weighted else list(range(len(raw_options)))
    options = []
    for option, value in zip(raw_options, values, strict=True):
        entry: dict[str, Any] = {
            "code": option.code,
            "display": option.display,
            "value": value,
            "weight": option.weight if weighted else 0,
        }
        if option.system:
            entry["system"] = option.system
        options.append(entry)
    text = item.get("text")
    if not text:
        raise ValueError(f"item {link_id!r}: has no text")
    out: dict[str, Any] = {
        "id": link_id,
        "number": number,
        "text": text,
        "codes": _codings(item.get("code")),
        "options": options,
    }
    if is_unscored:
        out["scored"] = False
    elif reverse:
        out["reverse"] = True
    return out


# --------------------------------------------------------------------------------------------
# QuestionnaireResponse
# --------------------------------------------------------------------------------------------


def _match_coding(item: Item, coding: Mapping[str, Any], link_id: str) -> int:
    code = coding.get("code")
    system = coding.get("system")
    matches = [
        option
        for option in item.options
        if option.code == code
        and (option.system is None or system is None or option.system == system)
    ]
    if len(matches) != 1:
        wanted = ", ".join(f"{o.system or ''}|{o.code}" for o in item.options)
        problem = "is ambiguous" if matches else "is not an option"
        raise ValueError(
            f"QuestionnaireResponse item {link_id!r}: answer {system or ''}|{code} {problem}; "
            f"options are {wanted}"
        )
    return matches[0].value


def _answer_value(item: Item, answer: Mapping[str, Any], link_id: str) -> int:
    if "valueCoding" in answer:
        if not isinstance(answer["valueCoding"], Mapping):
            raise ValueError(
                f"QuestionnaireResponse item {link_id!r}: valueCoding must be an object"
            )
        return _match_coding(item, answer["valueCoding"], link_id)
    if "valueInteger" in answer and type(answer["valueInteger"]) is int:
        return int(answer["valueInteger"])
    if "valueDecimal" in answer:
        value = answer["valueDecimal"]
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and float(value).is_integer()
        ):
            return int(value)
    kinds = sorted(key for key in answer if key.startswith("value"))
    raise ValueError(
        f"QuestionnaireResponse item {link_id!r}: cannot use answer {kinds or 'without a value'}; "
        "expected valueCoding or valueInteger"
    )


def answers_from_questionnaire_response(
    definition: InstrumentDefinition,
    response: Mapping[str, Any],
    *,
    strict: bool = True,
    ignore_link_ids: Collection[str] = (TOTAL_SCORE_LINK_ID, INSTRUCTIONS_LINK_ID),
) -> dict[str, int | None]:
    """Map an R4 ``QuestionnaireResponse`` to an answers mapping for :func:`score`.

    Parameters
    ----------
    definition : InstrumentDefinition
        The instrument the response answers; item ids are matched to ``linkId``.
    response : Mapping
        The QuestionnaireResponse as parsed JSON. Items may be nested in groups or under
        answers.
    strict : bool, default True
        Refuse ``linkId`` values that are not items of the definition (other than
        ``ignore_link_ids``). Set to ``False`` to skip them, e.g. for an imported
        Questionnaire whose total-score item has its own linkId.
    ignore_link_ids : collection of str
        LinkIds to skip silently; by default the total and instructions items of exported
        Questionnaires.

    Returns
    -------
    dict of str to int or None
        Raw value per answered item; ``None`` for items present without an answer.

    Raises
    ------
    ValueError
        If the resource is not a QuestionnaireResponse, or an item cannot be mapped. The
        message names the ``linkId``: unknown linkId, repeated linkId, more than one answer,
        a coding that is not one of the item's options, or an unsupported value type.

    Examples
    --------
    >>> from reverie.measures.definitions import load_shipped
    >>> gad7 = load_shipped()["gad-7"]
    >>> qr = {"resourceType": "QuestionnaireResponse", "status": "completed", "item": [
    ...     {"linkId": "gad7-1", "answer": [{"valueCoding": {"system": "http://loinc.org",
    ...                                                      "code": "LA6570-1"}}]}]}
    >>> answers_from_questionnaire_response(gad7, qr)
    {'gad7-1': 2}
    """
    if not isinstance(response, Mapping) or response.get("resourceType") != "QuestionnaireResponse":
        kind = response.get("resourceType") if isinstance(response, Mapping) else None
        raise ValueError(f"expected a FHIR QuestionnaireResponse, got resourceType {kind!r}")
    answers: dict[str, int | None] = {}
    ignored = set(ignore_link_ids)

    def walk(children: Any) -> None:
        if not isinstance(children, list):
            raise ValueError("QuestionnaireResponse item must be a list")
        for child in children:
            link_id = child.get("linkId") if isinstance(child, Mapping) else None
            if not isinstance(link_id, str):
                raise ValueError("QuestionnaireResponse item without a linkId")
            item = definition.item_index.get(link_id)
            raw_answers = child.get("answer") or []
            if not isinstance(raw_answers, list) or not all(
                isinstance(answer, Mapping) for answer in raw_answers
            ):
                raise ValueError(
                    f"QuestionnaireResponse item {link_id!r}: answer must be a list of objects"
                )
            if item is not None:
                if link_id in answers:
                    raise ValueError(f"QuestionnaireResponse item {link_id!r} appears twice")
                if len(raw_answers) > 1:
                    raise ValueError(
                        f"QuestionnaireResponse item {link_id!r} has {len(raw_answers)} answers; "
                        "scored items take exactly one"
                    )
                answers[link_id] = (
                    _answer_value(item, raw_answers[0], link_id) if raw_answers else None
                )
            elif strict and link_id not in ignored and (raw_answers or not child.get("item")):
                raise ValueError(
                    f"QuestionnaireResponse item {link_id!r} is not an item of {definition.id!r}"
                )
            # An empty or missing item list has nothing to walk (most items of a scored
            # questionnaire): no call for it.
            nested = child.get("item")
            if nested:
                walk(nested)
            for answer in raw_answers:
                nested = answer.get("item")
                if nested:
                    walk(nested)

    walk(response.get("item") or [])
    return answers


def score_questionnaire_response(
    definition: InstrumentDefinition,
    response: Mapping[str, Any],
    *,
    strict: bool = True,
    ignore_link_ids: Collection[str] = (TOTAL_SCORE_LINK_ID, INSTRUCTIONS_LINK_ID),
) -> ScoreResult:
    """Score an R4 ``QuestionnaireResponse`` against a definition.

    Equivalent to ``score(definition, answers_from_questionnaire_response(...))``. Mapping
    errors raise ``ValueError`` and scoring errors raise
    :class:`~reverie.measures.scoring.ScoringError`; both name the ``linkId``.
    """
    answers = answers_from_questionnaire_response(
        definition, response, strict=strict, ignore_link_ids=ignore_link_ids
    )
    return score(definition, answers)
