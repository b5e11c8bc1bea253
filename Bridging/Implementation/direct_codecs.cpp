// direct_codecs.cpp — one JPEG-LS frame through CharLS 2.4's C API, one JPEG 2000 or HTJ2K frame through
// OpenJPEG 2.5's, decoded straight into the caller's buffer.
//
// Why not through GDCM: GDCM 3.0.21 wraps the very same libraries (Debian links it to libcharls.so.2 and
// libopenjp2.so.7) but copies every frame through a fragment sequence, a string stream and a byte value,
// and it knows no HTJ2K transfer syntax. Called directly, CharLS writes into the frame buffer itself and
// OpenJPEG's components are narrowed into it in one pass.
//
// Why still in a worker process (gdcm_codec_worker.cpp): the hazards are the libraries', not GDCM's —
// truncated JPEG-LS streams make CharLS 2 loop, damaged JPEG 2000 streams crash OpenJPEG 2.5.0 — so these
// functions run where a crash or a hang costs one frame.
//
// The output is what GDCM's decoders gave (medvol's results stay voxel-identical): samples of
// Bits Allocated / 8 bytes holding the stream's values truncated to that width (two's complement for
// signed streams), interleaved for JPEG 2000, in the stream's interleave mode for JPEG-LS; the stream's
// precision and (JPEG 2000) signedness are reported so that Swift can sign-extend and widen.
#include "bridge_internal.h"

#include <charls/charls.h>
// Named by its folder: ITK 5.2's headers bring a mangled copy of OpenJPEG (itk_opj_*) under the plain name.
#include <openjpeg-2.5/openjpeg.h>

#include <memory>
#include <thread>
#include <vector>

using medvol_bridge::failure;
using medvol_bridge::success;

namespace {

uint64_t frame_bytes(const mv_frame_description *frame) {
    return uint64_t(frame->rows) * frame->columns * frame->samples_per_pixel * (frame->bits_allocated / 8);
}

std::string size_text(uint64_t columns, uint64_t rows) {
    return std::to_string(columns) + "×" + std::to_string(rows);
}

// MARK: JPEG-LS (CharLS)

struct charls_decoder_deleter {
    void operator()(charls_jpegls_decoder *decoder) const { charls_jpegls_decoder_destroy(decoder); }
};

std::string charls_message(charls_jpegls_errc error) {
    const char *message = charls_get_error_message(error);
    return message ? message : "unknown CharLS error";
}

} // namespace

namespace medvol_bridge {

mv_status decode_jpegls_frame(const mv_frame_description *frame, const void *encoded, uint64_t encoded_length,
                              void *decoded, uint64_t decoded_length, mv_frame_decoding *result) {
    if (frame->bits_allocated != 8 && frame->bits_allocated != 16) {
        return failure("JPEG-LS samples must be 8 or 16 bits allocated, the header says " +
                       std::to_string(frame->bits_allocated));
    }
    if (frame_bytes(frame) != decoded_length || decoded_length == 0) {
        return failure("output buffer does not match the frame size");
    }
    std::unique_ptr<charls_jpegls_decoder, charls_decoder_deleter> decoder(charls_jpegls_decoder_create());
    if (!decoder) return failure("CharLS could not create a decoder");
    charls_jpegls_errc error = charls_jpegls_decoder_set_source_buffer(decoder.get(), encoded, encoded_length);
    if (error == charls::jpegls_errc::success) error = charls_jpegls_decoder_read_header(decoder.get());
    charls_frame_info info{};
    if (error == charls::jpegls_errc::success) error = charls_jpegls_decoder_get_frame_info(decoder.get(), &info);
    charls_interleave_mode interleave = charls::interleave_mode::none;
    if (error == charls::jpegls_errc::success) error = charls_jpegls_decoder_get_interleave_mode(decoder.get(), &interleave);
    if (error != charls::jpegls_errc::success) return failure("JPEG-LS header: " + charls_message(error));

    // The output size comes from the DICOM header; the stream must declare the same frame.
    if (info.width != frame->columns || info.height != frame->rows) {
        return failure("the JPEG-LS stream is " + size_text(info.width, info.height) + ", the header says " +
                       size_text(frame->columns, frame->rows));
    }
    if (uint32_t(info.component_count) != frame->samples_per_pixel) {
        return failure("the JPEG-LS stream has " + std::to_string(info.component_count) + " components, the header says " +
                       std::to_string(frame->samples_per_pixel) + " samples per pixel");
    }
    if (info.bits_per_sample < 2 || info.bits_per_sample > int32_t(frame->bits_allocated)) {
        return failure("the JPEG-LS stream has " + std::to_string(info.bits_per_sample) + "-bit samples, more than the " +
                       std::to_string(frame->bits_allocated) + " bits allocated");
    }
    const uint32_t stream_sample_bytes = info.bits_per_sample <= 8 ? 1 : 2;
    size_t needed = 0;
    error = charls_jpegls_decoder_get_destination_size(decoder.get(), 0, &needed);
    if (error != charls::jpegls_errc::success) return failure("JPEG-LS header: " + charls_message(error));

    if (stream_sample_bytes == frame->bits_allocated / 8) {
        if (needed != decoded_length) return failure("the JPEG-LS stream decodes to " + std::to_string(needed) + " bytes, expected " + std::to_string(decoded_length));
        error = charls_jpegls_decoder_decode_to_buffer(decoder.get(), decoded, decoded_length, 0);
    } else {
        // Samples of up to 8 bits in 16-bit storage: decoded as bytes, then widened in place (from the end).
        if (needed * 2 != decoded_length) return failure("the JPEG-LS stream decodes to " + std::to_string(needed) + " bytes, expected half of " + std::to_string(decoded_length));
        auto *bytes = static_cast<uint8_t *>(decoded);
        error = charls_jpegls_decoder_decode_to_buffer(decoder.get(), bytes + needed, needed, 0);
        if (error == charls::jpegls_errc::success) {
            auto *words = static_cast<uint16_t *>(decoded);
            for (size_t i = 0; i < needed; ++i) words[i] = bytes[needed + i];
        }
    }
    if (error != charls::jpegls_errc::success) return failure("JPEG-LS: " + charls_message(error));

    std::snprintf(result->photometric, sizeof result->photometric, "%s", frame->photometric ? frame->photometric : "");
    result->planar_configuration = info.component_count > 1 && interleave == charls::interleave_mode::none ? 1 : 0;
    result->stream_bits = info.bits_per_sample;
    result->stream_signed = -1;
    int32_t near_lossless = 0;
    result->lossy = charls_jpegls_decoder_get_near_lossless(decoder.get(), 0, &near_lossless) == charls::jpegls_errc::success &&
                    near_lossless > 0 ? 1 : 0;
    return success();
}

} // namespace medvol_bridge

// MARK: JPEG 2000 and HTJ2K (OpenJPEG)

namespace {

/// The compressed bytes as an OpenJPEG input stream.
struct memory_stream {
    const uint8_t *bytes;
    uint64_t length;
    uint64_t position;
};

OPJ_SIZE_T stream_read(void *buffer, OPJ_SIZE_T count, void *user) {
    auto *stream = static_cast<memory_stream *>(user);
    if (stream->position >= stream->length) return OPJ_SIZE_T(-1);
    const uint64_t left = stream->length - stream->position;
    const OPJ_SIZE_T taken = OPJ_SIZE_T(std::min<uint64_t>(left, count));
    std::memcpy(buffer, stream->bytes + stream->position, taken);
    stream->position += taken;
    return taken;
}

OPJ_OFF_T stream_skip(OPJ_OFF_T count, void *user) {
    auto *stream = static_cast<memory_stream *>(user);
    if (count < 0) {
        const uint64_t back = std::min<uint64_t>(uint64_t(-count), stream->position);
        stream->position -= back;
        return -OPJ_OFF_T(back);
    }
    const uint64_t left = stream->length - std::min(stream->position, stream->length);
    const uint64_t skipped = std::min<uint64_t>(left, uint64_t(count));
    stream->position += skipped;
    return OPJ_OFF_T(skipped);
}

OPJ_BOOL stream_seek(OPJ_OFF_T offset, void *user) {
    auto *stream = static_cast<memory_stream *>(user);
    if (offset < 0 || uint64_t(offset) > stream->length) return OPJ_FALSE;
    stream->position = uint64_t(offset);
    return OPJ_TRUE;
}

void keep_first_error(const char *message, void *user) {
    auto *first = static_cast<std::string *>(user);
    if (first->empty() && message) {
        *first = message;
        while (!first->empty() && (first->back() == '\n' || first->back() == ' ')) first->pop_back();
    }
}

void ignore_message(const char *, void *) {}

struct opj_resources {
    opj_codec_t *codec = nullptr;
    opj_stream_t *stream = nullptr;
    opj_image_t *image = nullptr;
    ~opj_resources() {
        if (image) opj_image_destroy(image);
        if (stream) opj_stream_destroy(stream);
        if (codec) opj_destroy_codec(codec);
    }
};

/// Narrows one component's 32-bit values to `Sample`, interleaved (GDCM's conversion: plain truncation).
template <typename Sample>
void narrow(const opj_image_t *image, void *decoded, uint64_t pixels) {
    auto *out = static_cast<Sample *>(decoded);
    const uint32_t components = image->numcomps;
    if (components == 1) {
        const OPJ_INT32 *in = image->comps[0].data;
        for (uint64_t i = 0; i < pixels; ++i) out[i] = Sample(in[i]);
        return;
    }
    for (uint32_t c = 0; c < components; ++c) {
        const OPJ_INT32 *in = image->comps[c].data;
        Sample *at = out + c;
        for (uint64_t i = 0; i < pixels; ++i, at += components) *at = Sample(in[i]);
    }
}

} // namespace

namespace medvol_bridge {

mv_status decode_jpeg2000_frame(const mv_frame_description *frame, const void *encoded, uint64_t encoded_length,
                                void *decoded, uint64_t decoded_length, mv_frame_decoding *result) {
    const uint32_t sample_bytes = frame->bits_allocated / 8;
    if (sample_bytes != 1 && sample_bytes != 2 && sample_bytes != 4) {
        return failure("JPEG 2000 samples must be 8, 16 or 32 bits allocated, the header says " +
                       std::to_string(frame->bits_allocated));
    }
    if (frame_bytes(frame) != decoded_length || decoded_length == 0) {
        return failure("output buffer does not match the frame size");
    }
    const auto *bytes = static_cast<const uint8_t *>(encoded);
    // A raw codestream starts with SOC (FF 4F); a JP2 file with its 12-byte signature box.
    OPJ_CODEC_FORMAT format = OPJ_CODEC_J2K;
    if (encoded_length >= 12 && bytes[4] == 'j' && bytes[5] == 'P' && bytes[6] == ' ' && bytes[7] == ' ') {
        format = OPJ_CODEC_JP2;
    } else if (encoded_length < 2 || bytes[0] != 0xFF || bytes[1] != 0x4F) {
        return failure("the frame is neither a JPEG 2000 codestream nor a JP2 file");
    }

    opj_resources r;
    std::string first_error;
    memory_stream source{bytes, encoded_length, 0};
    r.codec = opj_create_decompress(format);
    if (!r.codec) return failure("OpenJPEG could not create a decoder");
    opj_set_error_handler(r.codec, keep_first_error, &first_error);
    opj_set_warning_handler(r.codec, ignore_message, nullptr);
    opj_set_info_handler(r.codec, ignore_message, nullptr);
    opj_dparameters_t parameters;
    opj_set_default_decoder_parameters(&parameters);
    if (!opj_setup_decoder(r.codec, &parameters)) return failure("OpenJPEG: " + first_error);

    // Frames are decoded in parallel, one per core; a frame decodes on several threads only when asked
    // (a large frame, or fewer frames than cores).
    if (frame->decoder_threads > 1 && opj_has_thread_support()) {
        opj_codec_set_threads(r.codec, int(std::min<uint32_t>(frame->decoder_threads, 64)));
    }

    r.stream = opj_stream_create(OPJ_SIZE_T(std::min<uint64_t>(encoded_length, 1 << 20)), OPJ_TRUE);
    if (!r.stream) return failure("OpenJPEG could not create a stream");
    opj_stream_set_user_data(r.stream, &source, nullptr);
    opj_stream_set_user_data_length(r.stream, encoded_length);
    opj_stream_set_read_function(r.stream, stream_read);
    opj_stream_set_skip_function(r.stream, stream_skip);
    opj_stream_set_seek_function(r.stream, stream_seek);

    if (!opj_read_header(r.stream, r.codec, &r.image) || !r.image) {
        return failure("JPEG 2000 header: " + (first_error.empty() ? std::string("unreadable") : first_error));
    }
    // Check the declared image against the DICOM header before anything of its size is allocated.
    const opj_image_t *image = r.image;
    const uint64_t width = uint64_t(image->x1) - image->x0, height = uint64_t(image->y1) - image->y0;
    if (image->x1 < image->x0 || image->y1 < image->y0 || width != frame->columns || height != frame->rows) {
        return failure("the JPEG 2000 stream is " + size_text(width, height) + ", the header says " +
                       size_text(frame->columns, frame->rows));
    }
    if (image->numcomps != frame->samples_per_pixel) {
        return failure("the JPEG 2000 stream has " + std::to_string(image->numcomps) + " components, the header says " +
                       std::to_string(frame->samples_per_pixel) + " samples per pixel");
    }
    for (uint32_t c = 0; c < image->numcomps; ++c) {
        const opj_image_comp_t &component = image->comps[c];
        if (component.dx != 1 || component.dy != 1) {
            return failure("the JPEG 2000 stream has subsampled components, which DICOM does not allow");
        }
        if (component.prec < 1 || component.prec > frame->bits_allocated || component.prec != image->comps[0].prec) {
            return failure("the JPEG 2000 stream has " + std::to_string(component.prec) + "-bit samples, the header allocates " +
                           std::to_string(frame->bits_allocated) + " bits");
        }
    }

    if (!opj_decode(r.codec, r.stream, r.image) || !opj_end_decompress(r.codec, r.stream)) {
        return failure("JPEG 2000: " + (first_error.empty() ? std::string("the stream could not be decoded") : first_error));
    }
    const uint64_t pixels = width * height;
    for (uint32_t c = 0; c < image->numcomps; ++c) {
        const opj_image_comp_t &component = image->comps[c];
        if (!component.data || uint64_t(component.w) * component.h != pixels) {
            return failure("OpenJPEG decoded a component of another size than the image");
        }
    }
    switch (sample_bytes) {
    case 1: narrow<uint8_t>(image, decoded, pixels); break;
    case 2: narrow<uint16_t>(image, decoded, pixels); break;
    default: narrow<uint32_t>(image, decoded, pixels); break;
    }

    std::snprintf(result->photometric, sizeof result->photometric, "%s", frame->photometric ? frame->photometric : "");
    result->planar_configuration = 0;
    result->stream_bits = int32_t(image->comps[0].prec);
    result->stream_signed = image->comps[0].sgnd ? 1 : 0;
    result->lossy = 0;  // not read from the stream (the COD segment); medvol does not use it
    return success();
}

} // namespace medvol_bridge
