/* sgaps.h on its own, included twice (the include guard must hold), compiled as C99 and
 * as C++17 with every warning an error, linked and run against libsgaps. */
#include "sgaps.h"
#include "sgaps.h"

int main(void) {
    SgapsFrame frame = sgaps_frame_default();
    SgapsFrameBuffers buffers = sgaps_frame_buffers_default();
    SgapsEngineOptions options = sgaps_engine_options_default();
    int defaults_are_empty = frame.pixels == NULL && buffers.reconstruction == NULL && options.conf_dir == NULL;
    return defaults_are_empty && sgaps_abi_version() == SGAPS_ABI_VERSION ? 0 : 1;
}
