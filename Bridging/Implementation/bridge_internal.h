// bridge_internal.h — helpers shared by the bridge's .cpp files. Never seen by Swift.
#ifndef MEDVOL_BRIDGE_INTERNAL_H
#define MEDVOL_BRIDGE_INTERNAL_H

#include "bridge_exports.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <mutex>
#include <string>

#include <dlfcn.h>
#include <sstream>

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

/// What ITK and MetaIO print by themselves during one call — MetaIO's `std::cerr` lines ("MetaImage:
/// M_ReadElementsData: data not read completely"), ITK's warnings and errors (its output window writes to
/// `std::cerr`) — caught instead of reaching the terminal: `std::cerr` writes into a string from
/// construction to `text()`, so that Swift can make the text the reason of its one error line (or a
/// warning). Only `std::cerr` is redirected, never descriptor 2 or C's `stderr`: other threads of the
/// process (the CLI's progress, a test runner) keep writing to the terminal, and nothing of theirs is
/// caught. nifti1_io, which prints with `fprintf(stderr, …)`, is silenced instead (debug level 0). Calls
/// that capture are serialised by a lock held for the capture's lifetime.
class captured_stderr {
public:
    captured_stderr() : lock_(mutex()) {
        silence_nifti1_io();
        std::cerr.flush();
        saved_ = std::cerr.rdbuf(captured_.rdbuf());
    }

    captured_stderr(const captured_stderr &) = delete;
    captured_stderr &operator=(const captured_stderr &) = delete;

    ~captured_stderr() { restore(); }

    /// Everything printed since construction (at most 4 KiB of it, the end cut), `std::cerr` given back.
    std::string text() {
        restore();
        std::string captured = captured_.str();
        if (captured.size() > 4096) captured.resize(4096);
        return captured;
    }

private:
    static std::mutex &mutex() {
        static std::mutex shared;
        return shared;
    }

    /// nifti1_io (inside ITK) prints "** ERROR …" with C stdio; level 0 keeps it quiet (ITK still
    /// reports the failure through its exception). Looked up at run time: ITK's libraries are loaded
    /// with the bridge, not linked by name.
    static void silence_nifti1_io() {
        static std::once_flag once;
        std::call_once(once, [] {
            using setter = int (*)(int);
            if (void *symbol = ::dlsym(RTLD_DEFAULT, "nifti_set_debug_level")) {
                reinterpret_cast<setter>(symbol)(0);
            }
        });
    }

    void restore() {
        if (!saved_) return;
        std::cerr.flush();
        std::cerr.rdbuf(saved_);
        saved_ = nullptr;
    }

    std::lock_guard<std::mutex> lock_;
    std::ostringstream captured_;
    std::streambuf *saved_ = nullptr;
};

/// `status` with what the library printed during the call: appended to a failure's message after
/// " | printed: ", or, for a success, as its message (empty when nothing was printed). Swift decides
/// what a success that printed something means.
inline mv_status with_printed(mv_status status, const std::string &printed) {
    if (printed.empty()) return status;
    std::string message = status.message;
    message = status.ok ? printed : message + " | printed: " + printed;
    std::snprintf(status.message, sizeof status.message, "%s", message.c_str());
    return status;
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
