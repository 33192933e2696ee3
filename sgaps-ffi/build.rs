include!("../build/link_libtorch.rs");

fn main() {
    // libsgaps.so and the FFI tests link libtorch.
    link_libtorch();
    hide_dependency_exports();
}

/// libsgaps.so exports only the `sgaps_` C ABI. rustc's own version script also exports
/// the `#[no_mangle]` functions of dependencies (bzip2-sys's `bz_internal_error`, tch's
/// `tch_read_stream_*`), which can clash with a game's own copies. Those all come from
/// dependency archives (rlibs), so `--exclude-libs,ALL` keeps them local. A version script
/// of ours cannot: the linker merges it with rustc's, whose explicit names win over a
/// `local: *` wildcard. tests/exports.rs checks the result with `nm -D`.
fn hide_dependency_exports() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,--exclude-libs,ALL");
    }
}
