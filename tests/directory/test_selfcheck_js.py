"""The browser's self-check must reach exactly the server's result.

The script in ``directory/static/directory/selfcheck.js`` repeats ``selfcheck.evaluate`` so that
answers never leave the person's device. Here both run on the same seeded random answers:
Python directly, the script under Node (skipped, saying why, when Node is not installed; the
browser test covers the page either way).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

import reverie.directory
from reverie.directory import selfcheck

SCRIPT = Path(reverie.directory.__file__).parent / "static" / "directory" / "selfcheck.js"
NODE = shutil.which("node") or shutil.which("nodejs")


def random_answers(rng: random.Random) -> dict[str, object]:
    answers: dict[str, object] = {}
    for item in selfcheck.ITEMS:
        if not item.required and rng.random() < 0.25:
            continue
        if item.kind == "choice":
            answers[item.key] = rng.choice(item.values)
        elif item.kind == "multi":
            chosen = rng.sample(item.values, rng.randint(1, 4))
            answers[item.key] = [v for v in item.values if v in chosen]
        elif item.kind == "number":
            answers[item.key] = rng.randint(item.minimum or 0, 300)
        else:
            answers[item.key] = rng.choice(["English", "Spanish", "Aetna"])
    return answers


def python_result(answers: dict[str, object]) -> dict[str, object]:
    result = selfcheck.evaluate(answers)
    return {
        "towards_psychodynamic": [r.text for r in result.towards_psychodynamic],
        "towards_structured": [r.text for r in result.towards_structured],
        "neither_count": result.neither_count,
        "leaning": result.leaning,
        "headline": selfcheck.HEADLINES[result.leaning],
        "meaning": result.meaning,
        "disclaimer": result.disclaimer,
        "show_crisis_card": result.show_crisis_card,
    }


def test_client_data_is_plain_json_and_complete() -> None:
    data = json.loads(json.dumps(selfcheck.client_data()))
    assert [item["key"] for item in data["items"]] == [item.key for item in selfcheck.ITEMS]
    assert data["margin"] == selfcheck.LEANING_MARGIN
    assert set(data["headlines"]) == {"leans psychodynamic", "leans structured", "mixed"}
    assert data["crisis_answers"] == sorted(selfcheck.CRISIS_ANSWERS)


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed; the browser test covers this")
def test_the_browser_script_reaches_the_same_result_as_the_server(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    cases = [random_answers(rng) for _ in range(200)]
    cases += [{"wellbeing": "no"}, {"wellbeing": "unsure"}, {"wellbeing": "yes", "roots": "both"}]
    payload = tmp_path / "cases.json"
    payload.write_text(json.dumps({"data": selfcheck.client_data(), "cases": cases}))
    runner = (
        "const m = require(process.argv[1]);"
        "const p = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));"
        "const out = p.cases.map(a => { const r = m.evaluate(p.data, a); return {"
        " towards_psychodynamic: r.towards_psychodynamic.map(x => x.text),"
        " towards_structured: r.towards_structured.map(x => x.text),"
        " neither_count: r.neither_count, leaning: r.leaning, headline: r.headline,"
        " meaning: r.meaning, disclaimer: r.disclaimer, show_crisis_card: r.show_crisis_card }; });"
        "process.stdout.write(JSON.stringify(out));"
    )
    done = subprocess.run(  # noqa: S603  (fixed arguments, no shell)
        [str(NODE), "-e", runner, str(SCRIPT), str(payload)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    from_script = json.loads(done.stdout)
    for answers, got in zip(cases, from_script, strict=True):
        assert got == python_result(answers), answers
