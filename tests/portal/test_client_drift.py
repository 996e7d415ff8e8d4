"""The portal's committed API client is what the services' OpenAPI documents generate today.

`npm run generate` (in portal/) writes the documents (`python -m daiko.openapi --write`) and the
TypeScript types (openapi-typescript). Change an API without regenerating and this fails, naming the
file that drifted: the portal would otherwise compile against an API that no longer exists.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from daiko.openapi import write_documents
from daiko.settings import PROJECT_ROOT

PORTAL = PROJECT_ROOT / "portal"
GENERATOR = PORTAL / "node_modules" / ".bin" / "openapi-typescript"
SERVICES = ("orders", "deposits", "messaging")

needs_generator = pytest.mark.skipif(
    shutil.which("node") is None or not GENERATOR.exists(),
    reason="the portal's npm packages are not installed (deploy/bootstrap.d/70-portal.sh runs npm ci)",
)


def test_the_committed_openapi_documents_are_what_the_services_serve(tmp_path: Path) -> None:
    written = {path.name: path.read_text(encoding="utf-8") for path in write_documents(tmp_path)}

    assert sorted(written) == sorted(f"{name}.json" for name in SERVICES)
    for name, text in written.items():
        committed = (PORTAL / "openapi" / name).read_text(encoding="utf-8")
        assert committed == text, f"portal/openapi/{name} drifted: run `npm run generate` in portal/"


@needs_generator
def test_the_committed_typescript_client_is_what_the_documents_generate(tmp_path: Path) -> None:
    for name in SERVICES:
        out = tmp_path / f"{name}.d.ts"
        subprocess.run(
            [str(GENERATOR), str(PORTAL / "openapi" / f"{name}.json"), "-o", str(out)],
            cwd=PORTAL,
            check=True,
            capture_output=True,
            timeout=120,
        )
        committed = (PORTAL / "src" / "api" / f"{name}.d.ts").read_text(encoding="utf-8")
        assert committed == out.read_text(encoding="utf-8"), (
            f"portal/src/api/{name}.d.ts drifted: run `npm run generate` in portal/"
        )
