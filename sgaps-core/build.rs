include!("../build/link_libtorch.rs");

fn main() {
    // The core crate's own test binaries link libtorch too.
    link_libtorch();
}
