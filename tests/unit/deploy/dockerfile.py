"""A Dockerfile read into stages of instructions: enough to check what deploy/docker holds."""

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, COPY, RUN, ...
    args: str

    def words(self) -> list[str]:
        """The arguments as words: a JSON array (exec form) or shell-split text."""
        text = self.args.strip()
        return json.loads(text) if text.startswith("[") else shlex.split(text)

    def flags(self) -> dict[str, str]:
        """Leading --name=value flags (COPY --from=uv, RUN --mount=...)."""
        return dict(re.findall(r"--([\w-]+)=(\S+)", self.args.split(" [")[0]))

    def operands(self) -> list[str]:
        """The words after the leading --flags."""
        return [w for w in shlex.split(self.args) if not w.startswith("--")]


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"stage {self.name or self.base} has no {keyword}"
        return found[-1]


def read_stages(path: Path) -> list[Stage]:
    """The build stages of the Dockerfile at `path`, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = args.split()
            named = len(words) >= 3 and words[1].upper() == "AS"
            stages.append(Stage(base=words[0], name=words[2] if named else None))
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, " ".join(args.split())))
    return stages
