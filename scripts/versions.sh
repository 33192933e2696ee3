# Pinned tool versions, sourced by the scripts that install or use them.
TORCH_VERSION=2.13.0     # the libtorch tch 0.26 expects, from the torch wheel
CBINDGEN_VERSION=0.29.4  # generates include/sgaps.h; a different version may format it differently
