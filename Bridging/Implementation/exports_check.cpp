// exports_check.cpp — the loader calls each mvi_ function through a pointer typed from its mv_
// declaration in medvol_bridge.h; these checks keep the two signatures identical at compile time.
#include "bridge_exports.h"

#include <type_traits>


#define SAME_SIGNATURE(name) \
    static_assert(std::is_same<decltype(&mv_##name), decltype(&mvi_##name)>::value, #name " differs from medvol_bridge.h")

SAME_SIGNATURE(image_reader_open);
SAME_SIGNATURE(image_reader_read);
SAME_SIGNATURE(image_reader_close);
SAME_SIGNATURE(image_write);
SAME_SIGNATURE(codec_decode_frame);
SAME_SIGNATURE(codec_decode_frame_isolated);
SAME_SIGNATURE(jpeg_write);
