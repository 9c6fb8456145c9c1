"""`import assay` stays cheap: no torch, no sympy, not even pydantic until used."""

from __future__ import annotations

import json
import subprocess
import sys


def test_import_assay_is_light():
    code = (
        "import sys, json, assay; "
        "print(json.dumps(sorted(m for m in ('torch', 'sympy', 'transformers', 'numpy', 'pydantic') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_using_the_registry_does_not_import_torch_or_sympy():
    code = (
        "import sys, json, warnings; warnings.simplefilter('ignore'); import assay; assay.get_registry(); "
        "assay.load_pipeline({'rewards': [{'use': 'exact_match'}]}); "
        "print(json.dumps(sorted(m for m in ('torch', 'sympy', 'transformers') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
