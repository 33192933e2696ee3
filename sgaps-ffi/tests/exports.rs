//! libsgaps.so exports the C ABI and nothing else: a symbol of a static dependency
//! (bzip2's `bz_internal_error`, tch's `tch_read_stream_*`) would clash with a game's own
//! copy. Reads the dynamic symbol table with `nm -D --defined-only`, as a linker sees it.

use std::path::PathBuf;
use std::process::Command;

/// The libsgaps.so cargo built with this test: in the test binary's `deps/` folder, and
/// copied up to `target/<profile>/`.
fn built_library() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe.parent().expect("the test binary's folder");
    let candidates = [deps.join("libsgaps.so"), deps.parent().expect("target/<profile>").join("libsgaps.so")];
    candidates
        .iter()
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("libsgaps.so is in none of {candidates:?}"))
        .clone()
}

/// Names of the defined dynamic symbols of `library`.
fn exported_symbols(library: &PathBuf) -> Vec<String> {
    let output = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(library)
        .output()
        .expect("running `nm` (binutils) on libsgaps.so");
    assert!(output.status.success(), "nm failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout)
        .expect("nm prints text")
        .lines()
        .filter_map(|line| line.split_whitespace().last().map(str::to_string))
        .collect()
}

#[test]
fn only_sgaps_symbols_are_exported() {
    let library = built_library();
    let symbols = exported_symbols(&library);
    // The ABI itself is there: a filter that hid everything would pass the check below.
    for function in ["sgaps_abi_version", "sgaps_engine_open", "sgaps_session_submit", "sgaps_last_error"] {
        assert!(symbols.iter().any(|s| s == function), "{} does not export {function}: {symbols:?}", library.display());
    }
    let foreign: Vec<&String> = symbols.iter().filter(|s| !s.starts_with("sgaps_")).collect();
    assert!(foreign.is_empty(), "{} exports symbols outside the C ABI: {foreign:?}", library.display());
}
