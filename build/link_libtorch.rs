// Shared by the build.rs of every crate that links an artifact (bin, cdylib, tests).
//
// Under the default `--as-needed` linking the linker drops libtorch_cuda.so, which is
// referenced only through static initialisers, so CUDA silently reports unavailable on
// a GPU machine. Link flags set inside torch-sys do not reach downstream artifacts, so
// each linking crate forces libtorch in itself and records an rpath to torch's lib dir
// (no LD_LIBRARY_PATH needed at run time). `DEP_TCH_LIBTORCH_LIB` is exported by
// torch-sys (`links = "tch"`) to crates that depend on it directly.
fn link_libtorch() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os != "linux" {
        return;
    }
    let lib_dir = std::env::var("DEP_TCH_LIBTORCH_LIB").ok();
    if let Some(dir) = &lib_dir {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-ltorch");
    let has_cuda = lib_dir
        .map(|dir| std::path::Path::new(&dir).join("libtorch_cuda.so").exists())
        .unwrap_or(false);
    if has_cuda {
        println!("cargo:rustc-link-arg=-ltorch_cuda");
    }
}
