// gdcm_codec_worker.cpp — the frame decoders (CharLS, OpenJPEG, GDCM's JPEG; see gdcm_codecs.cpp) run in
// worker processes, so that a damaged stream cannot take the caller's process down with it.
//
// Why: GDCM 3.0.21 is built with assertions on (Debian), and damaged JPEG streams fail them (SIGABRT);
// damaged JPEG 2000 streams crash OpenJPEG 2.5.0 (SIGSEGV, heap corruption); truncated JPEG-LS streams
// make CharLS 2 loop for ever. These are the libraries' own faults — called directly, without GDCM, they
// remain — and none of them can be caught in process. A worker that dies or hangs costs one frame and
// one respawn; the caller gets a failure status naming what happened.
//
// Which program a worker runs: `medvol-codec-worker` (Sources/medvol-codec-worker, a few lines that
// link only the loader) when it lies beside the module that holds this code or beside the running
// executable — where `swift build` puts it for the medvol tool and the test runner. A program that ships
// without it (a package that links the MedVol product into its own executable) runs its own executable
// (/proc/self/exe) as the worker instead.
//
// How a process knows it is a worker — explicitly, never from an inherited environment variable: it is
// started with exactly two arguments, MV_CODEC_WORKER_ROLE and a one-time random token, with one end of
// a socket pair as file descriptor 0; the loader's constructor (Bridging/Loader) then asks
// mvi_codec_worker_accepts, which checks that fd 0 is a Unix socket created by the parent process and
// that the first 32 bytes the parent sends repeat the token, and only then serves (mvi_codec_worker_main)
// and exits, before the program's own `main`. Any other start runs the program as usual. Workers are
// kept in a pool and reused; each request carries a fixed header and the compressed bytes, and gets back
// a status, what the decoder learnt, and the pixels, which are read straight into the caller's buffer.
#include "bridge_internal.h"

#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#if defined(__linux__)
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <spawn.h>
#include <dlfcn.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#define MV_HAVE_WORKERS 1
#else
#define MV_HAVE_WORKERS 0
#endif

extern char **environ;

using medvol_bridge::failure;
using medvol_bridge::success;

namespace {

constexpr uint32_t request_magic = 0x4D564352;   // "MVCR"
constexpr uint32_t response_magic = 0x4D564341;  // "MVCA"
/// The worker program's file name (Sources/medvol-codec-worker).
constexpr const char *worker_program_name = "medvol-codec-worker";
/// Length of the one-time token a worker is started with (hex digits of 16 random bytes).
constexpr size_t token_length = 32;
/// Largest compressed or decoded frame a worker accepts (a 65535² RGB 16-bit frame is 24 GiB; 8 GiB is
/// more than any real frame and keeps a corrupted header from asking for absurd allocations).
constexpr uint64_t largest_frame = 8ull << 30;

struct request_header {
    uint32_t magic;
    uint32_t rows, columns, samples_per_pixel, bits_allocated, bits_stored, pixel_representation,
        planar_configuration, decoder_threads;
    char transfer_syntax[68];
    char photometric[36];
    uint64_t encoded_length;
    uint64_t decoded_length;
};

struct response_header {
    uint32_t magic;
    mv_status status;
    mv_frame_decoding decoding;
};

#if MV_HAVE_WORKERS

// MARK: Byte transport

/// Reads exactly `length` bytes; false on end of file or error.
bool read_exact(int fd, void *buffer, size_t length) {
    auto *at = static_cast<char *>(buffer);
    while (length > 0) {
        const ssize_t got = ::read(fd, at, length);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        at += got;
        length -= static_cast<size_t>(got);
    }
    return true;
}

/// Writes all of `buffer` without ever raising SIGPIPE; false when the other end is gone.
bool write_all(int fd, const void *buffer, size_t length) {
    const auto *at = static_cast<const char *>(buffer);
    while (length > 0) {
        const ssize_t sent = ::send(fd, at, length, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) return false;
        at += sent;
        length -= static_cast<size_t>(sent);
    }
    return true;
}

// MARK: Worker side

/// Serves requests on `fd` until the caller closes it.
[[noreturn]] void serve(int fd) {
    std::vector<char> encoded, decoded;
    while (true) {
        request_header request{};
        if (!read_exact(fd, &request, sizeof request) || request.magic != request_magic) _exit(0);
        if (request.encoded_length > largest_frame || request.decoded_length > largest_frame) _exit(3);
        request.transfer_syntax[sizeof request.transfer_syntax - 1] = '\0';
        request.photometric[sizeof request.photometric - 1] = '\0';
        encoded.resize(request.encoded_length);
        if (!read_exact(fd, encoded.data(), encoded.size())) _exit(0);
        decoded.resize(request.decoded_length);

        const mv_frame_description description{request.rows, request.columns, request.samples_per_pixel,
                                               request.bits_allocated, request.bits_stored,
                                               request.pixel_representation, request.planar_configuration,
                                               request.photometric, request.decoder_threads};
        response_header response{};
        response.magic = response_magic;
        response.status = mvi_codec_decode_frame(request.transfer_syntax, &description, encoded.data(), encoded.size(),
                                                decoded.data(), decoded.size(), &response.decoding);
        if (!write_all(fd, &response, sizeof response)) _exit(0);
        if (response.status.ok == 1 && !write_all(fd, decoded.data(), decoded.size())) _exit(0);
    }
}

/// Reads exactly `length` bytes before `deadline`; 1 done, 0 end of file/error, -1 timed out.
int read_before(int fd, void *buffer, size_t length, std::chrono::steady_clock::time_point deadline);

struct worker;
/// Ends a worker that failed or hung and says how it ended (defined with the pool below).
std::string dispose(worker &w, bool kill_now);

}  // namespace

/// Whether this process was started by a decoder pool as a worker: `argv` is {program, role, token},
/// file descriptor 0 is a Unix socket whose other end the parent process made, and the parent's first
/// 32 bytes on it (within 10 s) are the token. 1 when so; 0, reading nothing, for every other start
/// that merely has the role argument.
extern "C" int mvi_codec_worker_accepts(int argc, char **argv) {
    if (argc != 3 || std::strcmp(argv[1], MV_CODEC_WORKER_ROLE) != 0 || std::strlen(argv[2]) != token_length) return 0;
    int domain = 0;
    socklen_t size = sizeof domain;
    if (::getsockopt(0, SOL_SOCKET, SO_DOMAIN, &domain, &size) != 0 || domain != AF_UNIX) return 0;
    ucred peer{};
    size = sizeof peer;
    if (::getsockopt(0, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0 || peer.pid != ::getppid()) return 0;
    char token[token_length];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    if (read_before(0, token, token_length, deadline) != 1) _exit(0);
    if (std::memcmp(token, argv[2], token_length) != 0) _exit(0);
    return 1;
}

/// A worker's life: serves decode requests on file descriptor 0 until the caller closes it, then exits.
/// The loader (Bridging/Loader) calls this before `main` once mvi_codec_worker_accepts has said the
/// process is a worker, so the worker never reaches the program's own `main`.
extern "C" void mvi_codec_worker_main(void) {
#if defined(__GLIBC__)
    // A frame's buffers (and OpenJPEG's 32-bit component planes) are a few MB; by default glibc maps and
    // unmaps each one, and every frame then faults its pages in afresh (and on a VM that returns freed
    // memory to the host, expensively). A worker is a short-lived process of our own: keep the memory.
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
    serve(0);
}

namespace {

// MARK: Caller side

struct worker {
    pid_t pid = -1;
    int fd = -1;
};

std::mutex pool_mutex;
std::vector<worker> idle_workers;

/// `folder-of(file)/medvol-codec-worker` when that file exists, else "".
std::string worker_program_beside(const char *file) {
    const char *slash = file ? std::strrchr(file, '/') : nullptr;
    if (!slash) return {};
    std::string path(file, static_cast<size_t>(slash - file));
    path += '/';
    path += worker_program_name;
    return ::access(path.c_str(), X_OK) == 0 ? path : std::string();
}

/// The program a worker runs (see the header comment): medvol-codec-worker beside this module or beside
/// the running executable, else the running executable itself. "" when none can be found.
std::string worker_program() {
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void *>(&mvi_codec_worker_main), &info) != 0) {
        std::string beside = worker_program_beside(info.dli_fname);
        if (!beside.empty()) return beside;
    }
    char path[PATH_MAX];
    const ssize_t length = ::readlink("/proc/self/exe", path, sizeof path - 1);
    if (length <= 0) return {};
    path[length] = '\0';
    std::string beside = worker_program_beside(path);
    return beside.empty() ? std::string(path) : beside;
}

/// A one-time token for a worker: 32 hex digits of random bytes (getrandom), or "" if it fails.
std::string make_token() {
    unsigned char bytes[token_length / 2];
    size_t filled = 0;
    while (filled < sizeof bytes) {
        const ssize_t got = ::getrandom(bytes + filled, sizeof bytes - filled, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return {};
        filled += static_cast<size_t>(got);
    }
    static const char digits[] = "0123456789abcdef";
    std::string token;
    for (unsigned char byte : bytes) {
        token += digits[byte >> 4];
        token += digits[byte & 15];
    }
    return token;
}

/// At exit: closes the idle workers' sockets (a worker exits when its socket closes) and waits for them —
/// so that none outlives the program, and their CPU time counts in the program's own (getrusage).
/// A worker that has not exited after a second is killed.
void reap_workers_at_exit() {
    std::lock_guard<std::mutex> lock(pool_mutex);
    for (worker &w : idle_workers) ::close(w.fd);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    for (worker &w : idle_workers) {
        int status = 0;
        while (::waitpid(w.pid, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(w.pid, SIGKILL);
                ::waitpid(w.pid, &status, 0);
                break;
            }
            ::usleep(1000);
        }
    }
    idle_workers.clear();
}

/// Starts a worker: the caller keeps one end of a socket pair, the worker gets the other as fd 0, with
/// /dev/null for its stdout and stderr (GDCM and OpenJPEG print on their own) and every other descriptor
/// closed (so that no worker holds another one's socket open).
bool spawn_worker(worker &started, std::string &why) {
    static const std::string executable = worker_program();
    static std::once_flag reaper;
    std::call_once(reaper, [] { std::atexit(reap_workers_at_exit); });
    if (executable.empty()) {
        why = "cannot find a program to start a decoder process (medvol-codec-worker, or /proc/self/exe)";
        return false;
    }
    std::string token = make_token();
    if (token.size() != token_length) {
        why = std::string("cannot make a decoder process token: ") + std::strerror(errno);
        return false;
    }
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
        why = std::string("socketpair: ") + std::strerror(errno);
        return false;
    }
    // Room for a whole 512² 16-bit frame in flight, so that a frame crosses in a few system calls.
    for (int end : ends) {
        const int size = 2 << 20;
        ::setsockopt(end, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        ::setsockopt(end, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, ends[1], 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
    // Default signal dispositions and an empty mask, whatever the caller has set for itself.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::string name = executable;
    std::string role = MV_CODEC_WORKER_ROLE;
    char *arguments[] = {name.data(), role.data(), token.data(), nullptr};

    pid_t pid = -1;
    const int spawned = posix_spawn(&pid, executable.c_str(), &actions, &attributes, arguments, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    ::close(ends[1]);
    if (spawned != 0) {
        ::close(ends[0]);
        why = std::string("cannot start a decoder process: ") + std::strerror(spawned);
        return false;
    }
    started.pid = pid;
    started.fd = ends[0];
    // The token first: it tells the new process that this socket is its pool's (mvi_codec_worker_accepts).
    if (!write_all(started.fd, token.data(), token.size())) {
        why = "cannot reach the decoder process: " + dispose(started, false);
        return false;
    }
    return true;
}

const char *signal_name(int signal) {
    switch (signal) {
    case SIGABRT: return "SIGABRT, an assertion in the decoder failed";
    case SIGSEGV: return "SIGSEGV, the decoder read or wrote out of bounds";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL";
    default: return "a signal";
    }
}

/// Ends a worker that failed or hung and says how it ended. A worker that closed its end is dying
/// (an abort in progress): it gets two seconds to finish before it is killed, so that its own signal is
/// the one reported.
std::string dispose(worker &w, bool kill_now) {
    if (w.fd >= 0) ::close(w.fd);
    w.fd = -1;
    if (w.pid <= 0) return {};
    int status = 0;
    pid_t reaped = 0;
    if (!kill_now) {
        for (int wait = 0; wait < 200 && reaped == 0; ++wait) {
            reaped = ::waitpid(w.pid, &status, WNOHANG);
            if (reaped == 0) ::usleep(10000);
            if (reaped < 0 && errno == EINTR) reaped = 0;
        }
    }
    if (reaped <= 0) {
        ::kill(w.pid, SIGKILL);
        do {
            reaped = ::waitpid(w.pid, &status, 0);
        } while (reaped < 0 && errno == EINTR);
    }
    w.pid = -1;
    if (reaped <= 0) return "the decoder process vanished";
    if (WIFSIGNALED(status)) {
        const int signal = WTERMSIG(status);
        return "the decoder process was killed by signal " + std::to_string(signal) + " (" + signal_name(signal) + ")";
    }
    if (WIFEXITED(status)) return "the decoder process exited with status " + std::to_string(WEXITSTATUS(status));
    return "the decoder process ended";
}

int read_before(int fd, void *buffer, size_t length, std::chrono::steady_clock::time_point deadline) {
    auto *at = static_cast<char *>(buffer);
    while (length > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return -1;
        pollfd ready{fd, POLLIN, 0};
        const int polled = ::poll(&ready, 1, static_cast<int>(std::min<int64_t>(left.count(), INT_MAX)));
        if (polled < 0 && errno == EINTR) continue;
        if (polled < 0) return 0;
        if (polled == 0) return -1;
        const ssize_t got = ::read(fd, at, length);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got <= 0) return 0;
        at += got;
        length -= static_cast<size_t>(got);
    }
    return 1;
}

worker take_worker() {
    std::lock_guard<std::mutex> lock(pool_mutex);
    if (idle_workers.empty()) return {};
    worker w = idle_workers.back();
    idle_workers.pop_back();
    return w;
}

void return_worker(const worker &w) {
    std::lock_guard<std::mutex> lock(pool_mutex);
    idle_workers.push_back(w);
}

void copy_text(char *target, size_t capacity, const char *text) {
    std::snprintf(target, capacity, "%s", text ? text : "");
}

#endif  // MV_HAVE_WORKERS

}  // namespace

extern "C" mv_status mvi_codec_decode_frame_isolated(const char *transfer_syntax_uid, const mv_frame_description *frame,
                                                    const void *encoded, uint64_t encoded_length, void *decoded,
                                                    uint64_t decoded_length, double timeout_seconds,
                                                    mv_frame_decoding *result) {
#if !MV_HAVE_WORKERS
    return mvi_codec_decode_frame(transfer_syntax_uid, frame, encoded, encoded_length, decoded, decoded_length, result);
#else
    return medvol_bridge::guarded("decoding frame in a decoder process", [&]() -> mv_status {
        *result = mv_frame_decoding{};
        result->stream_bits = -1;
        result->stream_signed = -1;
        if (encoded_length > largest_frame || decoded_length > largest_frame) return failure("frame too large");

        request_header request{};
        request.magic = request_magic;
        request.rows = frame->rows;
        request.columns = frame->columns;
        request.samples_per_pixel = frame->samples_per_pixel;
        request.bits_allocated = frame->bits_allocated;
        request.bits_stored = frame->bits_stored;
        request.pixel_representation = frame->pixel_representation;
        request.planar_configuration = frame->planar_configuration;
        request.decoder_threads = frame->decoder_threads;
        copy_text(request.transfer_syntax, sizeof request.transfer_syntax, transfer_syntax_uid);
        copy_text(request.photometric, sizeof request.photometric, frame->photometric);
        request.encoded_length = encoded_length;
        request.decoded_length = decoded_length;

        // An idle worker may have been ended behind our back; then a fresh one gets the request.
        for (int attempt = 0; attempt < 2; ++attempt) {
            worker w = take_worker();
            if (w.pid <= 0) {
                std::string why;
                if (!spawn_worker(w, why)) return failure(why);
                attempt = 1;  // a fresh worker gets no second chance
            }
            if (!write_all(w.fd, &request, sizeof request) || !write_all(w.fd, encoded, encoded_length)) {
                const std::string how = dispose(w, false);
                if (attempt == 0) continue;
                return failure("could not hand the frame to the decoder process: " + how);
            }
            const auto deadline = std::chrono::steady_clock::now() +
                                  std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
            response_header response{};
            int got = read_before(w.fd, &response, sizeof response, deadline);
            if (got == 1 && response.magic != response_magic) got = 0;
            if (got == 1 && response.status.ok == 1) got = read_before(w.fd, decoded, decoded_length, deadline);
            if (got == -1) {
                dispose(w, true);
                char limit[32];
                std::snprintf(limit, sizeof limit, "%g", timeout_seconds);
                return failure(std::string("the decoder did not finish within ") + limit +
                               " s (a damaged stream can make it loop); the decoder process was stopped");
            }
            if (got == 0) {
                const std::string how = dispose(w, false);
                return failure(how + " while decoding this frame (the compressed stream is damaged)");
            }
            return_worker(w);
            *result = response.decoding;
            response.status.message[sizeof response.status.message - 1] = '\0';
            return response.status;
        }
        return failure("no decoder process could take the frame");
    });
#endif
}
