/*
 * medvol_bridge.h — the only header Swift imports from the C++ bridge over ITK 5.2 and GDCM 3.0.
 *
 * Why each part exists:
 *  - mv_image_*:      ITK's ImageIO classes read and write MetaImage, NIfTI and NRRD exactly as
 *                     SimpleITK does (the geometry contract is "as ITK reads and writes them").
 *                     Voxels go straight between the file and memory that Swift owns.
 *  - mv_codec_*:      one frame's compressed bytes, which Swift has already located in the file, decoded
 *                     by CharLS 2.4 (JPEG-LS), OpenJPEG 2.5 (JPEG 2000, HTJ2K) or GDCM 3.0 (JPEG
 *                     baseline/extended/lossless) — in a worker process, because damaged streams make
 *                     these libraries abort, crash or loop.
 *
 * Rules: plain C only (no C++ types cross), every symbol prefixed `mv_`, every function catches every
 * C++ exception and reports failure through `mv_status`. Geometry crosses as double[3] and a row-major
 * double[9]; voxels as a pointer and a byte count into memory the caller owns.
 *
 * Loading: these functions are implemented by the loader (Bridging/Loader/loader.c), which forwards
 * each to the C++ implementation: linked into the program (a package that depends on the MedVol
 * product), or libMedVolBridge.so, linked to ITK and GDCM, loaded the first time one is called (the
 * medvol tool). A program that never needs ITK or GDCM (a DICOM series converted to .mhd or .npy) then
 * never loads them: about 30 ms of start-up and 15 MB of memory saved. When the library cannot be
 * found, calls fail with an mv_status that says where it was looked for.
 */
#ifndef MEDVOL_BRIDGE_H
#define MEDVOL_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The first argument of a decoder worker process (see the loader and gdcm_codec_worker.cpp).
#define MV_CODEC_WORKER_ROLE "--medvol-codec-worker"

/// Outcome of a bridge call: `ok` is 1 on success; otherwise `message` says why (NUL-terminated).
typedef struct mv_status {
    int ok;
    char message[1024];
} mv_status;

/* ------------------------------------------------------------------------------------------------ */
/* ITK image IO: MetaImage (.mhd/.mha), NIfTI (.nii/.nii.gz), NRRD (.nrrd/.nhdr)                     */
/* ------------------------------------------------------------------------------------------------ */

typedef enum mv_image_format {
    MV_IMAGE_FORMAT_METAIMAGE = 1,
    MV_IMAGE_FORMAT_NIFTI = 2,
    MV_IMAGE_FORMAT_NRRD = 3,
} mv_image_format;

/// Scalar type of one voxel component, as ITK's IOComponentEnum.
typedef enum mv_component_type {
    MV_COMPONENT_UNKNOWN = 0,
    MV_COMPONENT_UINT8 = 1,
    MV_COMPONENT_INT8 = 2,
    MV_COMPONENT_UINT16 = 3,
    MV_COMPONENT_INT16 = 4,
    MV_COMPONENT_UINT32 = 5,
    MV_COMPONENT_INT32 = 6,
    MV_COMPONENT_UINT64 = 7,
    MV_COMPONENT_INT64 = 8,
    MV_COMPONENT_FLOAT32 = 9,
    MV_COMPONENT_FLOAT64 = 10,
} mv_component_type;

/// Header of an image file in medvol's terms (LPS millimetres, ITK's direction convention).
/// A 2D file has size[2] == 1, spacing[2] == 1; a 4D file has dimensions == 4 and size[3] > 0.
typedef struct mv_image_header {
    uint32_t dimensions;          ///< 2, 3 or 4 as stored in the file
    uint64_t size[4];             ///< nx, ny, nz, nt (unused entries are 1)
    double spacing[3];
    double origin[3];
    double direction[9];          ///< row-major; column a is the unit LPS vector of index axis a
    double time_spacing;          ///< spacing of the fourth axis (1 when absent)
    double time_origin;           ///< origin of the fourth axis (0 when absent)
    uint32_t component_type;      ///< mv_component_type
    uint32_t components;          ///< 1 for scalars, 3 for RGB, ...
    uint64_t byte_count;          ///< bytes of the whole voxel buffer
} mv_image_header;

typedef struct mv_image_reader mv_image_reader;

/// Opens `path` and reads its header only. On success `*reader` must be closed with mv_image_reader_close.
mv_status mv_image_reader_open(const char *path, mv_image_format format,
                               mv_image_reader **reader, mv_image_header *header);
/// Reads every voxel into `buffer`, which holds exactly `byte_count` bytes (header.byte_count).
mv_status mv_image_reader_read(mv_image_reader *reader, void *buffer, uint64_t byte_count);
void mv_image_reader_close(mv_image_reader *reader);

/// Writes a whole image. `compress` asks for zlib/gzip compression where the format has it.
mv_status mv_image_write(const char *path, mv_image_format format, const mv_image_header *header,
                         const void *buffer, int compress);

/* ------------------------------------------------------------------------------------------------ */
/* Codecs: decode one frame (CharLS, OpenJPEG, GDCM's JPEG)                                          */
/* ------------------------------------------------------------------------------------------------ */

/// What the DICOM header says about a frame; the decoder checks the stream against it.
typedef struct mv_frame_description {
    uint32_t rows;
    uint32_t columns;
    uint32_t samples_per_pixel;
    uint32_t bits_allocated;
    uint32_t bits_stored;
    uint32_t pixel_representation;   ///< 0 unsigned, 1 signed
    uint32_t planar_configuration;   ///< 0 interleaved, 1 planar
    const char *photometric;         ///< e.g. "MONOCHROME2", "YBR_FULL_422"
    uint32_t decoder_threads;        ///< threads one frame may use (JPEG 2000); 0 or 1: one
} mv_frame_description;

/// What the decoder learnt from the stream itself.
typedef struct mv_frame_decoding {
    char photometric[32];            ///< photometric interpretation of the decoded bytes
    uint32_t planar_configuration;   ///< layout of the decoded bytes
    int32_t stream_bits;             ///< precision the stream declares (-1 when unknown)
    int32_t stream_signed;           ///< 1 signed, 0 unsigned, -1 unknown (JPEG 2000 only)
    int lossy;                       ///< 1 when the stream is lossy
} mv_frame_decoding;

/// Decodes one frame whose compressed bytes (all fragments of the frame, concatenated) are `encoded`,
/// into `decoded` (exactly rows*columns*samples*bits_allocated/8 bytes): JPEG-LS with CharLS, JPEG 2000
/// and HTJ2K with OpenJPEG (called directly, writing into `decoded`), JPEG with GDCM. The stream's
/// declared size and components are checked against `frame` before anything is decoded.
mv_status mv_codec_decode_frame(const char *transfer_syntax_uid, const mv_frame_description *frame,
                                const void *encoded, uint64_t encoded_length,
                                void *decoded, uint64_t decoded_length, mv_frame_decoding *result);

/// Like mv_codec_decode_frame, but in a worker process (the running program restarted as a decoder, kept
/// in a pool and reused), so that a stream that makes a decoder abort, crash or loop costs only this frame:
/// the status then says what happened to the worker. A worker that has not answered after
/// `timeout_seconds` is killed. Where workers are not available, decodes in process.
mv_status mv_codec_decode_frame_isolated(const char *transfer_syntax_uid, const mv_frame_description *frame,
                                         const void *encoded, uint64_t encoded_length,
                                         void *decoded, uint64_t decoded_length, double timeout_seconds,
                                         mv_frame_decoding *result);

/* ------------------------------------------------------------------------------------------------ */
/* ITK JPEG writer: rendered 8-bit images (medvol export --format jpg)                               */
/* ------------------------------------------------------------------------------------------------ */

/// Writes an 8-bit image, `components` 1 (grey) or 3 (RGB, interleaved), rows top to bottom, as a
/// baseline JPEG file through ITK's JPEGImageIO (libjpeg). `quality` is 1–100.
mv_status mv_jpeg_write(const char *path, uint32_t width, uint32_t height, uint32_t components,
                        const uint8_t *pixels, int quality);

#ifdef __cplusplus
}
#endif

#endif /* MEDVOL_BRIDGE_H */
