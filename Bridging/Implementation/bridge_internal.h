// bridge_internal.h — helpers shared by the bridge's .cpp files. Never seen by Swift.
#ifndef MEDVOL_BRIDGE_INTERNAL_H
#define MEDVOL_BRIDGE_INTERNAL_H

#include "bridge_exports.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

namespace medvol_bridge {

inline mv_status success() {
    mv_status status;
    status.ok = 1;
    status.message[0] = '\0';
    return status;
}

inline mv_status failure(const std::string &message) {
    mv_status status;
    status.ok = 0;
    std::snprintf(status.message, sizeof status.message, "%s", message.c_str());
    return status;
}

/// Runs `body` (which returns mv_status) and turns every C++ exception into a failure status, so that
/// no exception ever unwinds into Swift frames.
template <typename Body>
mv_status guarded(const char *what, Body &&body) noexcept {
    try {
        return body();
    } catch (const std::exception &error) {
        return failure(std::string(what) + ": " + error.what());
    } catch (...) {
        return failure(std::string(what) + ": unknown C++ exception");
    }
}

/// ITK's exception messages start with the source file and line; keep only the description.
inline std::string shortened_itk_message(const std::string &message) {
    const std::string marker = "Description: ";
    auto at = message.find(marker);
    std::string text = at == std::string::npos ? message : message.substr(at + marker.size());
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

/// One JPEG-LS frame through CharLS (direct_codecs.cpp); arguments as mvi_codec_decode_frame's.
mv_status decode_jpegls_frame(const mv_frame_description *frame, const void *encoded, uint64_t encoded_length,
                              void *decoded, uint64_t decoded_length, mv_frame_decoding *result);
/// One JPEG 2000 or HTJ2K frame through OpenJPEG (direct_codecs.cpp).
mv_status decode_jpeg2000_frame(const mv_frame_description *frame, const void *encoded, uint64_t encoded_length,
                                void *decoded, uint64_t decoded_length, mv_frame_decoding *result);

} // namespace medvol_bridge

#endif
