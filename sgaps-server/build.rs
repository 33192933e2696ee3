include!("../build/link_libtorch.rs");

fn main() {
    // The `sgaps` binary and the server tests link libtorch.
    link_libtorch();
}
