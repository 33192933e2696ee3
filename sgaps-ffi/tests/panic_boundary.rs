//! Every exported function runs its body inside the panic boundary: a panic must never
//! unwind into C (it would abort the host, a Unity editor for one).

use std::path::Path;

#[test]
fn every_exported_function_runs_inside_the_boundary() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut exported = 0;
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        // Each piece after `extern "C" fn` runs up to the next exported function.
        for body in text.split("extern \"C\" fn ").skip(1) {
            let body = body.split("#[no_mangle]").next().unwrap();
            let name = body.split('(').next().unwrap();
            assert!(name.starts_with("sgaps_"), "{}: `{name}` lacks the sgaps_ prefix", path.display());
            assert!(
                body.contains("status_boundary(") || body.contains("value_boundary("),
                "{}: `{name}` does not run inside the panic boundary",
                path.display()
            );
            exported += 1;
        }
    }
    let header = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../include/sgaps.h")).unwrap();
    // Declarations start at the first column; comments and struct fields do not.
    let starts_a_declaration = |line: &&str| !line.starts_with([' ', '/', '*', '#', '}']) && line.contains("sgaps_");
    let declared = header.lines().filter(starts_a_declaration).count();
    assert_eq!(exported, declared, "functions in src/ and declarations in include/sgaps.h");
}
