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

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

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

/// What a C or C++ library prints on stderr by itself during one call — MetaIO's `std::cerr` lines
/// ("MetaImage: M_ReadElementsData: data not read completely"), nifti1_io's `fprintf(stderr, "** ERROR …")`,
/// ITK's output window, Teem — caught instead of reaching the terminal: fd 2 points at an anonymous
/// in-memory file from construction to `text()`, so that Swift can make the text the reason of its one
/// error line (or a warning). One capture at a time (fd 2 is the process's): calls that capture are
/// serialised by a lock held for the capture's lifetime.
class captured_stderr {
public:
    captured_stderr() : lock_(mutex()) {
        std::cerr.flush();
        std::fflush(stderr);
        file_ = ::memfd_create("medvol-library-messages", MFD_CLOEXEC);
        if (file_ < 0) return;
        saved_ = ::dup(2);
        if (saved_ < 0 || ::dup2(file_, 2) < 0) {
            if (saved_ >= 0) ::close(saved_);
            saved_ = -1;
        }
    }

    captured_stderr(const captured_stderr &) = delete;
    captured_stderr &operator=(const captured_stderr &) = delete;

    ~captured_stderr() {
        restore();
        if (file_ >= 0) ::close(file_);
    }

    /// Everything printed since construction (at most 4 KiB of it, the end cut), stderr given back.
    std::string text() {
        restore();
        std::string captured;
        if (file_ < 0) return captured;
        char buffer[4096];
        const ssize_t length = ::pread(file_, buffer, sizeof buffer, 0);
        if (length > 0) captured.assign(buffer, static_cast<size_t>(length));
        return captured;
    }

private:
    static std::mutex &mutex() {
        static std::mutex shared;
        return shared;
    }

    void restore() {
        if (saved_ < 0) return;
        std::cerr.flush();
        std::fflush(stderr);
        ::dup2(saved_, 2);
        ::close(saved_);
        saved_ = -1;
    }

    std::lock_guard<std::mutex> lock_;
    int file_ = -1;
    int saved_ = -1;
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
