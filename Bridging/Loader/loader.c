// loader.c — finds the C++ bridge over ITK and GDCM the first time it is needed and forwards every mv_
// call to its mvi_ counterpart there.
//
// Two ways the implementation (Bridging/Implementation, the mvi_ functions) reaches a program:
//  - Linked into the program. A package that depends on the `MedVol` product gets it that way (the
//    product holds the implementation target): every format works with nothing to copy or set. The
//    mvi_ functions are referenced weakly here, so they are found when they are linked in, and are NULL
//    when they are not.
//  - Loaded on first use, as libMedVolBridge.so. The medvol tool does it this way (its target depends on
//    the MedVol target, not on the product): linked in, ITK and GDCM cost ~30 ms of start-up on every run
//    (GDCM builds its whole data dictionary in a static constructor) and ~15 MB of memory, although
//    converting an uncompressed series to .mhd or .npy needs neither.
//
// Where the library is looked for, in order: $MEDVOL_BRIDGE_LIBRARY; beside the running executable
// (where `swift build` puts it); beside the module that holds this code; the dynamic loader's search path.
//
// Thread safety: the functions are looked up once, under pthread_once, into one table that is read-only
// afterwards; pthread_once orders that lookup before every call that follows it, on every thread.
#define _GNU_SOURCE
#include "medvol_bridge.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/// Every forwarded function, by its name without the mv_ prefix.
#define MEDVOL_BRIDGE_FUNCTIONS(X)                                                                         \
    X(image_reader_open)                                                                                \
    X(image_reader_read)                                                                                \
    X(image_reader_close)                                                                               \
    X(image_write)                                                                                      \
    X(codec_decode_frame)                                                                               \
    X(codec_decode_frame_isolated)                                                                      \
    X(jpeg_write)

// The implementation's functions, when the program links it (weak: NULL when it does not).
#define DECLARE_LINKED(name) extern __typeof__(mv_##name) mvi_##name __attribute__((weak));
MEDVOL_BRIDGE_FUNCTIONS(DECLARE_LINKED)
extern void mvi_codec_worker_main(void) __attribute__((weak));
extern int mvi_codec_worker_accepts(int argc, char **argv) __attribute__((weak));

/// The implementation's functions, once found (NULL where it could not be found).
static struct bridge_functions {
#define DECLARE_FIELD(name) __typeof__(&mv_##name) name;
    MEDVOL_BRIDGE_FUNCTIONS(DECLARE_FIELD)
    void (*codec_worker_main)(void);
    int (*codec_worker_accepts)(int argc, char **argv);
} bridge;

static const char library_name[] = "libMedVolBridge.so";
static char load_error[2048];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

/// Adds `text` to load_error.
static void note_failure(const char *text) {
    size_t used = strlen(load_error);
    snprintf(load_error + used, sizeof load_error - used, "%s%s", used ? "; " : "", text);
}

/// Tries `directory-of-file/libMedVolBridge.so`; returns the handle, or NULL (failures noted).
static void *open_in_folder_of(const char *file) {
    char path[PATH_MAX];
    const char *slash = file ? strrchr(file, '/') : NULL;
    if (!slash) return NULL;
    int length = snprintf(path, sizeof path, "%.*s/%s", (int)(slash - file), file, library_name);
    if (length <= 0 || (size_t)length >= sizeof path || access(path, F_OK) != 0) return NULL;
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library) note_failure(dlerror());
    return library;
}

/// libMedVolBridge.so, found where the header comment says, or NULL (with load_error set).
static void *open_library(void) {
    const char *override = getenv("MEDVOL_BRIDGE_LIBRARY");
    if (override && *override) {
        void *library = dlopen(override, RTLD_NOW | RTLD_LOCAL);
        if (!library) snprintf(load_error, sizeof load_error, "MEDVOL_BRIDGE_LIBRARY=%s: %s", override, dlerror());
        return library;
    }
    char executable[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", executable, sizeof executable - 1);
    void *library = NULL;
    if (length > 0) {
        executable[length] = '\0';
        library = open_in_folder_of(executable);
    }
    Dl_info info;
    if (!library && dladdr((void *)&open_library, &info)) library = open_in_folder_of(info.dli_fname);
    if (!library) library = dlopen(library_name, RTLD_NOW | RTLD_LOCAL);
    if (library) return library;
    char text[PATH_MAX + 512];
    snprintf(text, sizeof text,
             "%s not found beside %s nor on the library search path (%s); depend on the MedVol product (which "
             "links it in), or keep %s beside the executable (`swift build` puts it there), or set "
             "MEDVOL_BRIDGE_LIBRARY",
             library_name, length > 0 ? executable : "the executable", dlerror(), library_name);
    note_failure(text);
    return NULL;
}

static void load(void) {
    if (mvi_image_reader_open) {
#define TAKE_LINKED(name) bridge.name = mvi_##name;
        MEDVOL_BRIDGE_FUNCTIONS(TAKE_LINKED)
        bridge.codec_worker_main = mvi_codec_worker_main;
        bridge.codec_worker_accepts = mvi_codec_worker_accepts;
        return;
    }
    void *library = open_library();
    if (!library) return;
#define LOOK_UP(name)                                                                                   \
    bridge.name = (__typeof__(bridge.name))dlsym(library, "mvi_" #name);                                \
    if (!bridge.name) note_failure("libMedVolBridge.so lacks mvi_" #name);
    MEDVOL_BRIDGE_FUNCTIONS(LOOK_UP)
    bridge.codec_worker_main = (void (*)(void))dlsym(library, "mvi_codec_worker_main");
    bridge.codec_worker_accepts = (int (*)(int, char **))dlsym(library, "mvi_codec_worker_accepts");
}

/// The implementation's functions, found on the first call (every thread sees the same table).
static const struct bridge_functions *functions(void) {
    pthread_once(&load_once, load);
    return &bridge;
}

static mv_status unavailable(void) {
    mv_status status;
    status.ok = 0;
    snprintf(status.message, sizeof status.message, "ITK/GDCM bridge unavailable: %s", load_error);
    return status;
}

// Each forwarder calls its implementation, or fails with `failure` when there is none.
#define FORWARD(name, failure, ...)                                                                     \
    const struct bridge_functions *found = functions();                                                 \
    if (!found->name) return failure;                                                                   \
    return found->name(__VA_ARGS__)

mv_status mv_image_reader_open(const char *path, mv_image_format format, mv_image_reader **reader,
                               mv_image_header *header) {
    *reader = NULL;
    FORWARD(image_reader_open, unavailable(), path, format, reader, header);
}

mv_status mv_image_reader_read(mv_image_reader *reader, void *buffer, uint64_t byte_count) {
    FORWARD(image_reader_read, unavailable(), reader, buffer, byte_count);
}

void mv_image_reader_close(mv_image_reader *reader) {
    if (!reader) return;
    const struct bridge_functions *found = functions();
    if (found->image_reader_close) found->image_reader_close(reader);
}

mv_status mv_image_write(const char *path, mv_image_format format, const mv_image_header *header,
                         const void *buffer, int compress) {
    FORWARD(image_write, unavailable(), path, format, header, buffer, compress);
}

mv_status mv_codec_decode_frame(const char *transfer_syntax_uid, const mv_frame_description *frame,
                                const void *encoded, uint64_t encoded_length,
                                void *decoded, uint64_t decoded_length, mv_frame_decoding *result) {
    FORWARD(codec_decode_frame, unavailable(), transfer_syntax_uid, frame, encoded, encoded_length, decoded,
            decoded_length, result);
}

mv_status mv_codec_decode_frame_isolated(const char *transfer_syntax_uid, const mv_frame_description *frame,
                                         const void *encoded, uint64_t encoded_length,
                                         void *decoded, uint64_t decoded_length, double timeout_seconds,
                                         mv_frame_decoding *result) {
    FORWARD(codec_decode_frame_isolated, unavailable(), transfer_syntax_uid, frame, encoded, encoded_length,
            decoded, decoded_length, timeout_seconds, result);
}

mv_status mv_jpeg_write(const char *path, uint32_t width, uint32_t height, uint32_t components,
                        const uint8_t *pixels, int quality) {
    FORWARD(jpeg_write, unavailable(), path, width, height, components, pixels, quality);
}

/// A process that MedVol's decoder pool started as a worker (see gdcm_codec_worker.cpp: a role argument,
/// a one-time token, and a socket to its parent on fd 0 that repeats the token) serves and exits here,
/// before any other constructor of the program of default priority and before its `main`. Anything
/// else — any environment, any other arguments — runs the program as usual. The role argument is looked
/// at first, so an ordinary start costs one string comparison and loads nothing.
__attribute__((constructor(101))) static void serve_as_codec_worker_if_started_so(int argc, char **argv) {
    if (argc != 3 || !argv || !argv[1] || strcmp(argv[1], MV_CODEC_WORKER_ROLE) != 0) return;
    const struct bridge_functions *found = functions();
    if (!found->codec_worker_accepts || !found->codec_worker_main) return;
    if (!found->codec_worker_accepts(argc, argv)) return;
    found->codec_worker_main();
    _exit(0);
}
