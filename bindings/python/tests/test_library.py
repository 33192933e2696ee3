"""Finding and loading libsgaps, its versions, and the error classes."""

import ctypes
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import sgaps
from sgaps import _native
from sgaps.errors import ERRORS

from conftest import REPO


def test_the_library_reports_the_workspace_version():
    workspace = (REPO / "Cargo.toml").read_text()
    expected = re.search(r'^version = "([^"]+)"', workspace, re.M).group(1)
    assert sgaps.version() == expected
    assert sgaps.library_path().name == "libsgaps.so"


def test_sgaps_library_is_used_alone(monkeypatch, tmp_path):
    missing = tmp_path / "nowhere" / "libsgaps.so"
    monkeypatch.setenv("SGAPS_LIBRARY", str(missing))
    assert _native.library_candidates() == [missing]
    with pytest.raises(sgaps.LibraryError, match="nowhere/libsgaps.so"):
        _native.load_library()


def test_without_the_variable_the_package_folder_comes_before_the_build_tree(monkeypatch):
    monkeypatch.delenv("SGAPS_LIBRARY", raising=False)
    monkeypatch.chdir(REPO)
    candidates = _native.library_candidates()
    assert candidates[0] == _native.PACKAGE_DIR / "libsgaps.so"
    build_tree = [REPO / "target" / "release" / "libsgaps.so", REPO / "target" / "debug" / "libsgaps.so"]
    assert candidates[-2:] == build_tree


def test_a_library_of_another_abi_is_refused(monkeypatch):
    monkeypatch.setenv("SGAPS_LIBRARY", str(sgaps.library_path()))
    monkeypatch.setattr(_native, "ABI_VERSION", _native.ABI_VERSION + 1)
    with pytest.raises(sgaps.LibraryError, match="ABI version 1, but this binding speaks 2"):
        _native.load_library()


def test_a_packaged_library_takes_libtorch_from_the_torch_it_was_built_with(monkeypatch, tmp_path):
    packaged = _native.PACKAGE_DIR / _native.LIBRARY_FILE
    _native.load_torch_libraries(packaged)  # the installed torch is the pinned one
    assert "torch" in sys.modules
    monkeypatch.setattr(_native, "TORCH_VERSION", "0.0.1")
    with pytest.raises(sgaps.LibraryError, match="built against torch 0.0.1, but torch 2"):
        _native.load_torch_libraries(packaged)
    # A build tree's or `make dist` library finds libtorch by its rpath: torch is not asked.
    _native.load_torch_libraries(tmp_path / "libsgaps.so")


def test_each_error_class_has_the_library_status_name():
    lib = _native.lib()
    for cls in ERRORS:
        assert lib.sgaps_status_name(cls.status).decode() == cls.status_name
    assert lib.sgaps_status_name(len(ERRORS) + 1).decode() == "SGAPS_STATUS_UNKNOWN"


def header_layout(tmp_path):
    """{"SgapsFrame": (size, {field: (offset, size)})} as the system C compiler lays out
    include/sgaps.h, printed by the program bindings/unity/Tests~/layout.py writes."""
    compiler = shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler (cc) to lay out include/sgaps.h")
    source, program = tmp_path / "layout.c", tmp_path / "layout"
    generate = [sys.executable, str(REPO / "bindings" / "unity" / "Tests~" / "layout.py"), str(REPO / "include" / "sgaps.h")]
    source.write_text(subprocess.run(generate, check=True, capture_output=True, text=True).stdout)
    subprocess.run([compiler, "-std=c99", f"-I{REPO / 'include'}", str(source), "-o", str(program)], check=True)
    layout = {}
    for line in subprocess.run([str(program)], check=True, capture_output=True, text=True).stdout.splitlines():
        name, *numbers = line.split()
        struct, _, field = name.partition(".")
        if field:
            layout[struct][1][field] = tuple(map(int, numbers))
        else:
            layout[struct] = (int(numbers[0]), {})
    return layout


def test_structs_have_the_layout_of_the_header(tmp_path):
    layout = header_layout(tmp_path)
    assert "SgapsFrame" in layout and "SgapsBatchItem" in layout, layout.keys()
    for struct, (size, fields) in layout.items():
        mirror = getattr(_native, struct.removeprefix("Sgaps"))  # SgapsFrame -> _native.Frame
        assert ctypes.sizeof(mirror) == size, struct
        assert [name for name, *_ in mirror._fields_] == list(fields), f"{struct}: fields and their order"
        for field, (offset, field_size) in fields.items():
            assert (getattr(mirror, field).offset, getattr(mirror, field).size) == (offset, field_size), f"{struct}.{field}"


def test_pngs_are_written_by_the_library(tmp_path):
    # A PNG's IHDR chunk holds width, height, bit depth and colour type (0 grey, 2 RGB).
    def header(path):
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"), data[24], data[25]

    sgaps.write_png_gray(tmp_path / "grey.png", np.arange(12, dtype=np.uint8).reshape(3, 4))
    assert header(tmp_path / "grey.png") == (4, 3, 8, 0)
    sgaps.write_importance_png(tmp_path / "heat.png", np.linspace(0, 1, 6).reshape(2, 3))
    assert header(tmp_path / "heat.png") == (3, 2, 8, 2)
    with pytest.raises(sgaps.InvalidArgumentError, match=r"\(height, width\)"):
        sgaps.write_png_gray(tmp_path / "flat.png", np.zeros(5))
    with pytest.raises(sgaps.IoError, match="cannot write"):
        sgaps.write_png_gray(tmp_path / "no" / "such" / "dir.png", np.zeros((2, 2)))
