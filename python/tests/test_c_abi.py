"""The C header is the library's real interface: a C program compiled against earshot.h with
warnings as errors transcribes, streams text, and leaves nothing live or mapped."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from earshot._native import lib
from conftest import REPO, TINY_MODEL, audio, golden_ids


def test_c_example_against_the_header(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler")
    library = Path(lib._name).resolve()
    exe = tmp_path / "earshot_transcribe"
    subprocess.run([cc, "-std=c11", "-Wall", "-Wextra", "-Werror", str(REPO / "examples" / "c" / "earshot_transcribe.c"),
                    "-I", str(REPO / "Sources" / "EarshotC" / "include"), str(library),
                    f"-Wl,-rpath,{library.parent}", "-o", str(exe)], check=True)
    options = json.dumps({"max_tokens": 12, "loop_guard_repeats": 0, "language": "English"})
    run = subprocess.run([str(exe), str(TINY_MODEL), options, audio("fox"), audio("short")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    results = [json.loads(line) for line in run.stdout.splitlines()]
    assert results[0]["token_ids"] == golden_ids("fox_lang")
    assert results[0]["language"] == "English"
    assert len(results[1]["token_ids"]) == 12
    assert "12 text pieces" in run.stderr


def test_c_example_under_valgrind_loses_nothing(tmp_path):
    """memcheck over load, two transcriptions, misuse, frees and a memory report through the C ABI:
    no byte definitely or indirectly lost, no invalid access."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    valgrind = shutil.which("valgrind")
    if cc is None or valgrind is None:
        pytest.skip("needs a C compiler and valgrind")
    # valgrind 3.19 cannot read clang's DWARF 5: run a copy without debug info.
    stripped = tmp_path / "lib" / Path(lib._name).name
    stripped.parent.mkdir()
    shutil.copy(Path(lib._name).resolve(), stripped)
    subprocess.run(["strip", "-g", str(stripped)], check=True)
    exe = tmp_path / "earshot_transcribe"
    subprocess.run([cc, "-std=c11", "-Wall", "-Werror", str(REPO / "examples" / "c" / "earshot_transcribe.c"),
                    "-I", str(REPO / "Sources" / "EarshotC" / "include"), str(stripped),
                    f"-Wl,-rpath,{stripped.parent}", "-o", str(exe)], check=True)
    run = subprocess.run([valgrind, "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
                          "--error-exitcode=99", str(exe), str(TINY_MODEL), '{"max_tokens": 4}', audio("short"),
                          audio("fox")], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "definitely lost: 0 bytes" in run.stderr or "no leaks are possible" in run.stderr, run.stderr[-3000:]
    assert "ERROR SUMMARY: 0 errors" in run.stderr
