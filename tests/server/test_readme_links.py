"""The README links every page in docs/, and every link it has to a file points at one."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_readme_links_every_doc_and_no_dead_file():
    readme = (REPO / "README.md").read_text()
    links = set(re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", readme))
    docs = {f"docs/{p.name}" for p in (REPO / "docs").glob("*.md")}
    assert {"docs/cli.md", "docs/configuration.md", "docs/kubernetes.md", "docs/lab.md",
            "docs/migrate-from-heketi.md", "docs/security.md", "docs/deploy.md"} <= docs
    assert sorted(docs - links) == []
    assert sorted(link for link in links if not (REPO / link).exists()) == []


def test_readme_names_the_postgres_extra_and_the_probes():
    readme = (REPO / "README.md").read_text()
    assert "pip install 'pyketi[postgres]'" in readme
    assert "`GET /healthz`" in readme and "`GET /readyz`" in readme
