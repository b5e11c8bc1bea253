// loader.c — loads the C++ bridge over ITK and GDCM (libMedVolBridge.so) the first time it is needed and
// forwards every mv_ call to its mvi_ counterpart there.
//
// Why: linked into the executable, ITK and GDCM cost ~30 ms of start-up on every run (GDCM builds its
// whole data dictionary in a static constructor) and ~15 MB of memory, although converting an
// uncompressed series to .mhd or .npy needs neither. Loaded on first use, they cost nothing there.
//
// Where the library is looked for, in order: $MEDVOL_BRIDGE_LIBRARY; beside the running executable
// (where `swift build` puts it); beside the module that holds this code; the dynamic loader's search path.
#define _GNU_SOURCE
#include "medvol_bridge.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char library_name[] = "libMedVolBridge.so";
static void *library;
static char load_error[2048];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

/// Tries `directory/libMedVolBridge.so`; returns 1 when loaded. Failures are added to load_error.
static int try_folder_of(const char *file) {
    char path[PATH_MAX];
    const char *slash = file ? strrchr(file, '/') : NULL;
    if (!slash) return 0;
    int length = snprintf(path, sizeof path, "%.*s/%s", (int)(slash - file), file, library_name);
    if (length <= 0 || (size_t)length >= sizeof path || access(path, F_OK) != 0) return 0;
    library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        size_t used = strlen(load_error);
        snprintf(load_error + used, sizeof load_error - used, "%s%s", used ? "; " : "", dlerror());
    }
    return library != NULL;
}

static void load(void) {
    const char *override = getenv("MEDVOL_BRIDGE_LIBRARY");
    if (override && *override) {
        library = dlopen(override, RTLD_NOW | RTLD_LOCAL);
        if (!library) snprintf(load_error, sizeof load_error, "MEDVOL_BRIDGE_LIBRARY=%s: %s", override, dlerror());
        return;
    }
    char executable[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", executable, sizeof executable - 1);
    if (length > 0) {
        executable[length] = '\0';
        if (try_folder_of(executable)) return;
    }
    Dl_info info;
    if (dladdr((void *)&load, &info) && try_folder_of(info.dli_fname)) return;
    library = dlopen(library_name, RTLD_NOW | RTLD_LOCAL);
    if (library) return;
    size_t used = strlen(load_error);
    snprintf(load_error + used, sizeof load_error - used,
             "%s%s not found beside %s nor on the library search path (%s); build it with `swift build` "
             "(product MedVolBridge) and keep it beside the executable, or set MEDVOL_BRIDGE_LIBRARY",
             used ? "; " : "", library_name, length > 0 ? executable : "the executable", dlerror());
}

/// The implementation of `name` ("mv_x" is implemented as "mvi_x"), or NULL (with load_error set) when
/// it cannot be loaded.
static void *resolve(const char *name) {
    pthread_once(&load_once, load);
    if (!library) return NULL;
    char implementation[128];
    snprintf(implementation, sizeof implementation, "mvi%s", strncmp(name, "mv_", 3) == 0 ? name + 2 : name);
    void *symbol = dlsym(library, implementation);
    if (!symbol) snprintf(load_error, sizeof load_error, "%s lacks %s: %s", library_name, implementation, dlerror());
    return symbol;
}

static mv_status unavailable(void) {
    mv_status status;
    status.ok = 0;
    snprintf(status.message, sizeof status.message, "ITK/GDCM bridge unavailable: %s", load_error);
    return status;
}

// Each forwarder looks its target up once. `__typeof__` keeps the signatures equal to the header's.
#define FORWARD(name, failure, ...)                                          \
    static __typeof__(&name) target;                                         \
    if (!target) target = (__typeof__(&name))resolve(#name);                 \
    if (!target) return failure;                                             \
    return target(__VA_ARGS__)

mv_status mv_image_reader_open(const char *path, mv_image_format format, mv_image_reader **reader,
                               mv_image_header *header) {
    *reader = NULL;
    FORWARD(mv_image_reader_open, unavailable(), path, format, reader, header);
}

mv_status mv_image_reader_read(mv_image_reader *reader, void *buffer, uint64_t byte_count) {
    FORWARD(mv_image_reader_read, unavailable(), reader, buffer, byte_count);
}

void mv_image_reader_close(mv_image_reader *reader) {
    static __typeof__(&mv_image_reader_close) target;
    if (!reader) return;
    if (!target) target = (__typeof__(&mv_image_reader_close))resolve("mv_image_reader_close");
    if (target) target(reader);
}

mv_status mv_image_write(const char *path, mv_image_format format, const mv_image_header *header,
                         const void *buffer, int compress) {
    FORWARD(mv_image_write, unavailable(), path, format, header, buffer, compress);
}

mv_status mv_codec_decode_frame(const char *transfer_syntax_uid, const mv_frame_description *frame,
                                const void *encoded, uint64_t encoded_length,
                                void *decoded, uint64_t decoded_length, mv_frame_decoding *result) {
    FORWARD(mv_codec_decode_frame, unavailable(), transfer_syntax_uid, frame, encoded, encoded_length, decoded,
            decoded_length, result);
}

mv_status mv_codec_decode_frame_isolated(const char *transfer_syntax_uid, const mv_frame_description *frame,
                                         const void *encoded, uint64_t encoded_length,
                                         void *decoded, uint64_t decoded_length, double timeout_seconds,
                                         mv_frame_decoding *result) {
    FORWARD(mv_codec_decode_frame_isolated, unavailable(), transfer_syntax_uid, frame, encoded, encoded_length,
            decoded, decoded_length, timeout_seconds, result);
}

mv_status mv_jpeg_write(const char *path, uint32_t width, uint32_t height, uint32_t components,
                        const uint8_t *pixels, int quality) {
    FORWARD(mv_jpeg_write, unavailable(), path, width, height, components, pixels, quality);
}

/// A process started as a decoder worker (MEDVOL_CODEC_WORKER=1, see gdcm_codec_worker.cpp) serves and
/// exits here, before the program's own `main`.
__attribute__((constructor)) static void become_codec_worker_if_asked(void) {
    const char *value = getenv("MEDVOL_CODEC_WORKER");
    if (!value || strcmp(value, "1") != 0) return;
    void (*worker_main)(void) = (void (*)(void))resolve("mv_codec_worker_main");
    if (!worker_main) _exit(127);
    worker_main();
    _exit(0);
}
