include!("../build/link_libtorch.rs");

fn main() {
    // libsgaps.so and the FFI tests link libtorch.
    link_libtorch();
}
