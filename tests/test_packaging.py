"""The container packaging, checked without docker (these machines reach no image registry, so the images
are never built here): docker/*.Dockerfile, docker-compose.yml, .dockerignore, docker/dagster.yaml and
docker/workspace.yaml.

- every COPY source exists in the repository and is not excluded by .dockerignore; the compose build
  contexts, Dockerfiles, bind mounts and secret files exist (or are made by docker/dev-secrets.sh);
- every command the images and compose services run (entrypoint + command, health checks) exists in the
  project's venv and accepts its options (`<argv> --help`); every absolute path they name is in the image;
- the agent image installs the `agent` extra only: no Dagster;
- every MEDVAULT_ variable set is a documented setting, and no secret is written in any of the files.

Each check is a function returning the problems it finds; the tests at the end feed each one a small
broken snippet so that every assertion is seen to fail.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest
import yaml

from medvault.platform.config import SECRET_WORDS, SETTINGS

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILES = sorted((ROOT / "docker").glob("*.Dockerfile"))
COMPOSE = ROOT / "docker-compose.yml"
DEV_SECRETS = ROOT / "docker" / "dev-secrets.sh"
ENV_EXAMPLE = ROOT / "docker" / "env.example"
GENERATED = ".secrets"  # made by docker/dev-secrets.sh, git-ignored by its own .gitignore
VENV_BIN = Path(sys.executable).parent
DOCUMENTED = {s.env for s in SETTINGS}


# -- Dockerfile parsing --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Instruction:
    name: str  # upper case
    args: str
    line: int


def instructions(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined; comments (also inside a continuation) dropped."""
    out: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = (pending + stripped).strip()
        pending = ""
        name, _, args = whole.partition(" ")
        out.append(Instruction(name.upper(), args.strip(), start))
    return out


def exec_form(args: str) -> list[str] | None:
    """The JSON (exec) form of CMD/ENTRYPOINT/COPY arguments, or None for the shell form."""
    try:
        value = json.loads(args)
    except ValueError:
        return None
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


@dataclass
class Copy:
    sources: list[str]
    dest: str
    stage: str  # the --from= stage or image, "" for the build context


def parse_copy(ins: Instruction) -> Copy:
    tokens = exec_form(ins.args) or shlex.split(ins.args)
    stage = ""
    while tokens and tokens[0].startswith("--"):
        flag = tokens.pop(0)
        if flag.startswith("--from="):
            stage = flag.split("=", 1)[1]
    return Copy(tokens[:-1], tokens[-1] if tokens else "", stage)


def parse_env(args: str) -> dict[str, str]:
    """`ENV A=1 B=2` or the legacy `ENV A 1`."""
    tokens = shlex.split(args)
    if tokens and "=" not in tokens[0]:
        return {tokens[0]: " ".join(tokens[1:])}
    return dict(t.split("=", 1) for t in tokens)


@dataclass
class Image:
    """The final stage of a Dockerfile: what the container starts with and which paths it holds."""

    path: Path
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    shell_forms: list[str] = field(default_factory=list)
    healthcheck: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    user: str = ""
    copies: list[Copy] = field(default_factory=list)  # the final stage's
    context_copies: list[Copy] = field(default_factory=list)  # every stage's, from the build context
    dirs: set[str] = field(default_factory=set)  # WORKDIR, VOLUME, `mkdir` in RUN
    runs: list[str] = field(default_factory=list)  # every stage's RUN commands


def parse_dockerfile(text: str, path: Path = Path("Dockerfile")) -> Image:
    image = Image(path)
    for ins in instructions(text):
        if ins.name == "FROM":  # a new stage: only the last one is the image
            image = Image(path, runs=image.runs, context_copies=image.context_copies)
        elif ins.name in ("ENTRYPOINT", "CMD"):
            argv = exec_form(ins.args)
            if argv is None:
                image.shell_forms.append(f"{ins.name} (line {ins.line})")
                argv = ["/bin/sh", "-c", ins.args]
            if ins.name == "ENTRYPOINT":
                image.entrypoint, image.cmd = argv, None  # a new ENTRYPOINT resets CMD
            else:
                image.cmd = argv
        elif ins.name == "HEALTHCHECK" and ins.args.upper() != "NONE":
            test = re.sub(r"^(--\S+\s+)*CMD\s+", "", ins.args)
            image.healthcheck = exec_form(test) or ["/bin/sh", "-c", test]
        elif ins.name == "ENV":
            image.env.update(parse_env(ins.args))
        elif ins.name == "USER":
            image.user = ins.args
        elif ins.name in ("COPY", "ADD"):
            copy = parse_copy(ins)
            image.copies.append(copy)
            if not copy.stage:
                image.context_copies.append(copy)
        elif ins.name == "WORKDIR":
            image.dirs.add(ins.args)
        elif ins.name == "VOLUME":
            image.dirs.update(exec_form(ins.args) or ins.args.split())
        if ins.name == "RUN":
            image.runs.append(ins.args)
            for segment in re.split(r"&&|;|\|\|", ins.args):
                words = shlex.split(segment)
                if words[:1] == ["mkdir"]:
                    image.dirs.update(w for w in words[1:] if not w.startswith("-"))
    return image


def load_image(path: Path) -> Image:
    return parse_dockerfile(path.read_text(), path)


def image_argv(image: Image) -> list[str]:
    return (image.entrypoint or []) + (image.cmd or [])


# -- .dockerignore ----------------------------------------------------------------------------------------
def ignored(relpath: str, patterns: list[str]) -> bool:
    """Whether .dockerignore `patterns` exclude `relpath` (or a folder holding it); the last match wins."""
    parts = PurePosixPath(relpath.strip("/")).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.strip("/")
        options = [pattern] + ([pattern[3:], "*/" + pattern[3:]] if pattern.startswith("**/") else [])
        if any(fnmatch.fnmatchcase(p, o) for p in prefixes for o in options):
            result = not negate
    return result


def dockerignore_patterns(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


# -- the checks ---------------------------------------------------------------------------------------------
def missing_copy_sources(image: Image, root: Path, ignore: list[str]) -> list[str]:
    """COPY/ADD sources from the build context that do not exist under `root` or that .dockerignore drops."""
    problems = []
    for copy in image.context_copies:  # COPY --from=<stage> copies are not the repository's
        for source in copy.sources:
            if re.match(r"^[a-z]+://", source):
                problems.append(f"{image.path.name}: {source} is fetched at build time: no registry here")
                continue
            rel = source.strip("/") or "."
            if not list(root.glob(rel)) and not (root / rel).exists():
                problems.append(f"{image.path.name}: COPY source {source} does not exist")
            elif rel != "." and ignored(rel, ignore):
                problems.append(f"{image.path.name}: COPY source {source} is excluded by .dockerignore")
    return problems


def image_source(image: Image, container_path: str, root: Path) -> Path | None:
    """The repository file a container path was copied from (None when it is not from the context)."""
    target = PurePosixPath(container_path)
    for copy in reversed(image.copies):
        if copy.stage:
            continue
        dest = PurePosixPath(copy.dest)
        for source in copy.sources:
            src = root / source.strip("/")
            dest_path = dest / src.name if copy.dest.endswith("/") and not src.is_dir() else dest
            if target == dest_path:
                return src
            if src.is_dir() and dest_path in target.parents:
                candidate = src / target.relative_to(dest_path)
                if candidate.exists():
                    return candidate
    return None


def image_has(image: Image, container_path: str, root: Path) -> bool:
    target = PurePosixPath(container_path)
    if container_path in image.dirs or image_source(image, container_path, root) is not None:
        return True
    # below a folder copied from another stage (the venv): what is in there is not the repository's
    return any(
        c.stage and (PurePosixPath(c.dest) == target or PurePosixPath(c.dest) in target.parents)
        for c in image.copies
    )


def absolute_paths(values) -> list[str]:
    """The values that are one absolute path, less scratch paths under /tmp (made by the command)."""
    return [
        v
        for v in values
        if isinstance(v, str) and re.fullmatch(r"/[\w./-]*", v) and not v.startswith("/tmp/")
    ]


def is_container_path(name: str) -> bool:
    """Whether a variable names a file or folder of the container (MEDVAULT_SFTP_ROOT is the server's):
    a documented setting defaulting to a local path, or a *_FILE, *_KNOWN_HOSTS, *_HOME variable."""
    setting = next((s for s in SETTINGS if s.env == name), None)
    if setting is not None and setting.default.startswith("$"):
        return True
    return name.endswith(("_FILE", "_KNOWN_HOSTS", "_HOME"))


def paths_not_in_image(
    image: Image, argv: list[str], env: dict[str, str], root: Path, also: tuple[str, ...] = ()
) -> list[str]:
    """Absolute paths in a command or the environment that the image does not hold (`also`: mounted ones)."""
    problems = []
    local = [v for k, v in env.items() if is_container_path(k)]
    for path in absolute_paths([*argv[1:], *local]):  # argv[0]: looked up in the venv
        if path.startswith("/run/secrets/") and path in also:
            continue
        if any(path == m or path.startswith(m.rstrip("/") + "/") for m in also if not m.startswith("/run/")):
            continue
        if not image_has(image, path, root):
            problems.append(f"{image.path.name}: {path} is not in the image")
    return problems


def pip_requirements(runs: list[str]) -> list[str]:
    """The requirements of every `pip install` in these RUN commands (flags and their values left out)."""
    takes_value = {
        "-r",
        "-c",
        "-e",
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "--target",
        "-t",
        "--prefix",
        "--root",
    }
    requirements = []
    for run in runs:
        for segment in re.split(r"&&|;|\|\|", run):
            words = shlex.split(segment)
            for i in range(len(words) - 1):
                if words[i].endswith("pip") and words[i + 1] == "install":
                    rest = iter(words[i + 2 :])
                    for word in rest:
                        if word in takes_value:
                            next(rest, None)
                        elif not word.startswith("-"):
                            requirements.append(word)
    return requirements


def local_extras(requirement: str) -> set[str] | None:
    """The extras of a requirement on the project itself (`.` or `.[a,b]`), None for any other one."""
    match = re.fullmatch(r"\.(?:\[([\w,\s-]*)\])?", requirement)
    if not match:
        return None
    return {e.strip() for e in (match.group(1) or "").split(",") if e.strip()}


def agent_install_problems(runs: list[str]) -> list[str]:
    requirements = pip_requirements(runs)
    if not requirements:
        return ["no `pip install` of the project"]
    problems = []
    for req in requirements:
        extras = local_extras(req)
        if extras is None:
            problems.append(f"installs {req!r} besides the project")
        elif extras != {"agent"}:
            problems.append(f"installs the project with extras {sorted(extras)}, not only `agent`")
        if "dagster" in req.lower():
            problems.append(f"installs Dagster: {req!r}")
    return problems


def undocumented(names) -> list[str]:
    return sorted(n for n in names if n.startswith("MEDVAULT_") and n not in DOCUMENTED)


def is_secret(name: str) -> bool:
    return any(word in name.upper() for word in SECRET_WORDS)


_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[?-][^}]*)?\}")


def literal_secrets(env: dict[str, str]) -> list[str]:
    """Secret variables given a value other than one `${VAR...}` from the environment or .env."""
    return sorted(k for k, v in env.items() if is_secret(k) and not _INTERPOLATION.fullmatch(str(v or "")))


def scalars(node) -> list[str]:
    """Every string value of a parsed YAML document (comments are gone)."""
    if isinstance(node, dict):
        return [s for v in node.values() for s in scalars(v)]
    if isinstance(node, list):
        return [s for v in node for s in scalars(v)]
    return [node] if isinstance(node, str) else []


# -- compose ----------------------------------------------------------------------------------------------
def compose_env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def compose_argv(service: dict, image: Image) -> list[str]:
    """What a compose service built from `image` runs: its entrypoint/command, else the image's."""

    def words(value):
        return shlex.split(value) if isinstance(value, str) else list(value)

    entrypoint = words(service["entrypoint"]) if "entrypoint" in service else (image.entrypoint or [])
    if "command" in service:
        command = words(service["command"])
    else:
        command = [] if "entrypoint" in service else (image.cmd or [])
    return entrypoint + command


def compose_healthcheck(service: dict) -> list[str] | None:
    test = (service.get("healthcheck") or {}).get("test")
    if not test or test == ["NONE"]:
        return None
    if isinstance(test, str):
        return ["/bin/sh", "-c", test]
    if test[0] == "CMD":
        return list(test[1:])
    return ["/bin/sh", "-c", " ".join(test[1:])]  # CMD-SHELL


def built_services(compose: dict) -> dict[str, tuple[dict, Path]]:
    """Services built from one of our Dockerfiles, with the Dockerfile's path."""
    out = {}
    for name, service in compose["services"].items():
        build = service.get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        context = ROOT / build.get("context", ".")
        out[name] = (service, context / build.get("dockerfile", "Dockerfile"))
    return out


def compose_path_problems(compose: dict, root: Path, generated_by: str) -> list[str]:
    """Build contexts and Dockerfiles, relative bind mounts and secret files that do not exist."""
    problems = []
    for name, service in compose["services"].items():
        build = service.get("build")
        if build is not None:
            build = {"context": build} if isinstance(build, str) else build
            context = root / build.get("context", ".")
            if not context.is_dir():
                problems.append(f"{name}: build context {build.get('context')} does not exist")
            elif not (context / build.get("dockerfile", "Dockerfile")).is_file():
                problems.append(f"{name}: dockerfile {build.get('dockerfile')} does not exist")
        for volume in service.get("volumes") or []:
            source = volume.get("source", "") if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith((".", "/")):
                problems += _local_file(f"{name}: bind mount", source, root, generated_by)
    for name, secret in (compose.get("secrets") or {}).items():
        if "file" in secret:
            problems += _local_file(f"secret {name}", secret["file"], root, generated_by)
    return problems


def _local_file(what: str, source: str, root: Path, generated_by: str) -> list[str]:
    rel = PurePosixPath(source)
    if rel.parts[:2] == (".", GENERATED) or rel.parts[:1] == (GENERATED,):
        if rel.name.removesuffix(".pub") not in generated_by:  # ssh-keygen -f NAME also writes NAME.pub
            return [f"{what} {source}: under {GENERATED}/ but not made by docker/dev-secrets.sh"]
        return []
    if not (root / source).exists():
        return [f"{what} {source} does not exist"]
    return []


# -- running the commands ----------------------------------------------------------------------------------
def all_commands() -> dict[tuple[str, ...], list[str]]:
    """Every command our images run, each with where it comes from."""
    commands: dict[tuple[str, ...], list[str]] = {}

    def add(argv, where):
        if argv:
            commands.setdefault(tuple(argv), []).append(where)

    for path in DOCKERFILES:
        image = load_image(path)
        add(image_argv(image), f"{path.name} ENTRYPOINT+CMD")
        add(image.healthcheck, f"{path.name} HEALTHCHECK")
    compose = yaml.safe_load(COMPOSE.read_text())
    for name, (service, dockerfile) in built_services(compose).items():
        image = load_image(dockerfile)
        add(compose_argv(service, image), f"compose service {name}")
        add(compose_healthcheck(service), f"compose service {name} healthcheck")
    return commands


def run_help(argv: list[str], bin_dir: Path = VENV_BIN, tmp: Path | None = None) -> list[str]:
    """Problems running `<argv> --help` with the venv's bin first on PATH: a missing program, a failure, an
    option of `argv` the help does not list, a `-m` module that cannot be imported."""
    program = shutil.which(argv[0], path=str(bin_dir))
    if program is None:
        return [f"{argv[0]} is not in {bin_dir}"]
    if argv[0] == "/bin/sh":
        return [f"shell form {argv!r}: use the exec (JSON) form"]
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    if tmp is not None:
        env["DAGSTER_HOME"] = str(tmp)
    done = subprocess.run(
        [program, *argv[1:], "--help"], capture_output=True, text=True, env=env, timeout=60, cwd=tmp or ROOT
    )
    if done.returncode != 0:
        return [f"{' '.join(argv)} --help: exit {done.returncode}: {done.stderr.strip()[-400:]}"]
    problems = []
    for word in argv[1:]:
        if word.startswith("-") and word != "--help":
            option = word.split("=", 1)[0]
            if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", done.stdout):
                problems.append(f"{' '.join(argv)}: {option} is not an option of it")
    for flag, module in zip(argv, argv[1:], strict=False):
        if flag in ("-m", "--module-name") and importlib.util.find_spec(module) is None:
            problems.append(f"{' '.join(argv)}: module {module} cannot be imported")
    return problems


COMMANDS = all_commands()


@pytest.fixture(scope="module")
def help_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dagster_home")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(lambda argv: run_help(list(argv), tmp=tmp), COMMANDS)
        return dict(zip(COMMANDS, results, strict=True))


# -- the tests on the real files ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_there_are_the_two_dockerfiles():
    assert {p.name for p in DOCKERFILES} == {"agent.Dockerfile", "platform.Dockerfile"}


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_every_copy_source_exists_and_reaches_the_build(path):
    ignore = dockerignore_patterns((ROOT / ".dockerignore").read_text())
    assert missing_copy_sources(load_image(path), ROOT, ignore) == []


def test_compose_paths_exist(compose):
    assert compose_path_problems(compose, ROOT, DEV_SECRETS.read_text()) == []
    assert {d for _, d in built_services(compose).values()} <= set(DOCKERFILES)


@pytest.mark.parametrize("argv", list(COMMANDS), ids=lambda a: " ".join(a))
def test_every_command_runs_in_the_venv(argv, help_results):
    assert help_results[argv] == [], COMMANDS[argv]


def test_the_commands_are_derived_from_the_files():
    programs = {argv[0] for argv in COMMANDS}
    assert {"medvault", "dagster-webserver", "dagster-daemon", "dagster"} <= programs
    assert ("medvault", "agent", "schedule", "--every", "1h") in COMMANDS


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_images_run_as_a_user_in_exec_form(path):
    image = load_image(path)
    assert image.user and image.user.split(":")[0] not in ("root", "0")
    assert image.shell_forms == []


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_paths_the_image_names_are_in_it(path):
    image = load_image(path)
    assert paths_not_in_image(image, image_argv(image), image.env, ROOT) == []


def test_paths_the_compose_services_name_are_in_their_images(compose):
    problems = []
    for name, (service, dockerfile) in built_services(compose).items():
        image = load_image(dockerfile)
        mounted = tuple(f"/run/secrets/{s}" for s in service.get("secrets") or [])
        mounted += tuple(v.split(":")[1] for v in service.get("volumes") or [] if isinstance(v, str))
        argv = compose_argv(service, image)
        problems += [
            f"{name}: {p}" for p in paths_not_in_image(image, argv, compose_env(service), ROOT, mounted)
        ]
    assert problems == []


def test_the_agent_image_installs_no_dagster():
    image = load_image(ROOT / "docker" / "agent.Dockerfile")
    assert agent_install_problems(image.runs) == []
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    installed = project["dependencies"] + project["optional-dependencies"]["agent"]
    assert [r for r in installed if re.match(r"(dagster|duckdb|pandas)\b", r)] == []


def test_the_platform_image_installs_the_platform_extra():
    image = load_image(ROOT / "docker" / "platform.Dockerfile")
    extras = [local_extras(r) for r in pip_requirements(image.runs)]
    assert any(e and "platform" in e for e in extras)


def test_medvault_variables_set_are_documented(compose):
    names = set()
    for path in DOCKERFILES:
        names |= set(load_image(path).env)
    for service in compose["services"].values():
        names |= set(compose_env(service))
    assert {n for n in names if n.startswith("MEDVAULT_")}, "no MEDVAULT_ variable found: the parser broke"
    assert undocumented(names) == []


def test_no_secret_is_written_in_the_files(compose):
    for path in DOCKERFILES:
        assert [n for n in load_image(path).env if is_secret(n)] == [], path.name
    for name, service in compose["services"].items():
        assert literal_secrets(compose_env(service)) == [], name


def test_required_variables_are_listed_and_made():
    required = {
        m.group(1)
        for value in scalars(yaml.safe_load(COMPOSE.read_text()))
        for m in _INTERPOLATION.finditer(value)
        if (m.group(2) or "")[:2] == ":?"
    }
    assert required, "no ${VAR:?} in docker-compose.yml"
    example = {
        line.split("=", 1)[0].strip()
        for line in ENV_EXAMPLE.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    made = DEV_SECRETS.read_text()
    assert sorted(required - example) == []
    assert sorted(v for v in required if f"{v}=" not in made) == []


def test_the_instance_config_is_valid_and_matches_the_embedded_one(compose):
    from dagster._core.instance.config import dagster_instance_config

    from medvault.instance import DAGSTER_YAML

    image = load_image(ROOT / "docker" / "platform.Dockerfile")
    source = image_source(image, f"{image.env['DAGSTER_HOME']}/dagster.yaml", ROOT)
    assert source is not None, "the image has no dagster.yaml in DAGSTER_HOME"
    dagster_instance_config(str(source.parent), source.name)  # raises on an invalid entry
    ours, embedded = yaml.safe_load(source.read_text()), yaml.safe_load(DAGSTER_YAML)
    for key in ("concurrency", "run_retries", "telemetry"):
        assert ours[key] == embedded[key], key
    for section in ours.values():
        if isinstance(section, dict) and "module" in section:
            module = importlib.import_module(section["module"])
            assert hasattr(module, section["class"]), section
    needed = set(re.findall(r"\{env: (\w+)\}", source.read_text()))
    for name, (service, dockerfile) in built_services(compose).items():
        argv = compose_argv(service, load_image(dockerfile))
        if dockerfile == image.path and argv[0].startswith("dagster"):
            assert needed <= set(compose_env(service)), name


def test_the_workspace_points_at_the_code_server(compose):
    services = built_services(compose)
    for name, (service, dockerfile) in services.items():
        image = load_image(dockerfile)
        argv = compose_argv(service, image)
        for flag, value in zip(argv, argv[1:], strict=False):
            if flag not in ("-w", "--workspace"):
                continue
            workspace = image_source(image, value, ROOT)
            assert workspace is not None, f"{name}: {value} is not in the image"
            for entry in yaml.safe_load(workspace.read_text())["load_from"]:
                grpc = entry["grpc_server"]
                target, _ = services[grpc["host"]]
                served = compose_argv(target, image)
                assert str(grpc["port"]) == served[served.index("-p") + 1], name
                assert grpc["location_name"] == served[served.index("--location-name") + 1], name


# -- the checks themselves fail on broken input ------------------------------------------------------------
BROKEN = """\
# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
COPY pyproject.toml no-such-file.txt ./
COPY --from=elsewhere /nowhere /opt/x
RUN pip install ".[agent,platform]" \\
    # a comment inside a continuation
    dagster-postgres
FROM python:3.11-slim
COPY tests/ /app/tests/
ENV MEDVAULT_NOT_A_SETTING=1 MEDVAULT_AGENT_DB_PASSWORD=hunter2 MEDVAULT_AGENT_RULES=/app/rules/agent
CMD medvault agent schedule
"""


def test_parser_finds_a_missing_or_ignored_copy_source():
    image = parse_dockerfile(BROKEN)
    assert missing_copy_sources(image, ROOT, []) == [
        "Dockerfile: COPY source no-such-file.txt does not exist"
    ]
    assert missing_copy_sources(image, ROOT, ["tests"]) == [
        "Dockerfile: COPY source no-such-file.txt does not exist",
        "Dockerfile: COPY source tests/ is excluded by .dockerignore",
    ]
    assert ignored("medvault/x/__pycache__/a.pyc", ["**/__pycache__"])
    assert not ignored("README.md", ["*.md", "!README.md"])


def test_parser_finds_extra_installs_and_secrets_and_settings():
    image = parse_dockerfile(BROKEN)
    assert pip_requirements(image.runs) == [".[agent,platform]", "dagster-postgres"]
    assert agent_install_problems(image.runs) == [
        "installs the project with extras ['agent', 'platform'], not only `agent`",
        "installs 'dagster-postgres' besides the project",
        "installs Dagster: 'dagster-postgres'",
    ]
    assert agent_install_problems(["pip install -q '.[agent]'"]) == []
    assert undocumented(image.env) == ["MEDVAULT_NOT_A_SETTING"]
    assert literal_secrets(image.env) == ["MEDVAULT_AGENT_DB_PASSWORD"]
    assert literal_secrets({"X_PASSWORD": "${X_PASSWORD:?set it}", "Y_TOKEN": "${Y:-}"}) == []


def test_parser_finds_shell_forms_root_and_paths_not_in_the_image():
    image = parse_dockerfile(BROKEN)
    assert image.shell_forms == ["CMD (line 11)"] and image.user == ""
    assert paths_not_in_image(image, image_argv(image), image.env, ROOT) == [
        "Dockerfile: /app/rules/agent is not in the image"
    ]
    # /opt/x came from another stage into the build stage, not into the image
    assert paths_not_in_image(image, ["x", "/app/tests/test_packaging.py", "/opt/x/bin"], {}, ROOT) == [
        "Dockerfile: /opt/x/bin is not in the image"
    ]
    agent = load_image(ROOT / "docker" / "agent.Dockerfile")
    env = {"MEDVAULT_SFTP_ROOT": "/drops", "MEDVAULT_AGENT_SFTP_KEY_FILE": "/run/secrets/k"}
    assert paths_not_in_image(agent, ["x", "/opt/venv/bin/medvault", "/tmp/out"], env, ROOT) == [
        "agent.Dockerfile: /run/secrets/k is not in the image"
    ]
    assert paths_not_in_image(agent, [], env, ROOT, also=("/run/secrets/k",)) == []


def test_compose_checks_find_missing_paths():
    compose = {
        "services": {
            "a": {"build": {"context": ".", "dockerfile": "docker/none.Dockerfile"}},
            "b": {
                "build": "no-such-dir",
                "volumes": ["./docker/absent:/x", "./.secrets/unmade:/y", "data:/z"],
            },
        },
        "secrets": {"k": {"file": "./.secrets/agent_sftp_key"}},
    }
    assert compose_path_problems(compose, ROOT, "agent_sftp_key") == [
        "a: dockerfile docker/none.Dockerfile does not exist",
        "b: build context no-such-dir does not exist",
        "b: bind mount ./docker/absent does not exist",
        "b: bind mount ./.secrets/unmade: under .secrets/ but not made by docker/dev-secrets.sh",
    ]
    image = Image(Path("x"), entrypoint=["medvault", "agent"], cmd=["schedule"])
    assert compose_argv({}, image) == ["medvault", "agent", "schedule"]
    assert compose_argv({"command": "once --json"}, image) == ["medvault", "agent", "once", "--json"]
    assert compose_argv({"entrypoint": ["sh"]}, image) == ["sh"]


def test_run_help_finds_an_unknown_option_or_program(tmp_path):
    assert run_help(["medvault", "agent", "schedule", "--every", "1h"]) == []
    assert run_help(["medvault", "agent", "schedule", "--evry", "1h"]) == [
        "medvault agent schedule --evry 1h: --evry is not an option of it"
    ]
    assert run_help(["medvault", "agent", "sched"])[0].startswith("medvault agent sched --help: exit 2")
    assert run_help(["no-such-program"]) == [f"no-such-program is not in {VENV_BIN}"]
    assert run_help(["medvault", "agent", "once"], bin_dir=tmp_path) == [f"medvault is not in {tmp_path}"]
