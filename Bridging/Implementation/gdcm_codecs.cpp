// gdcm_codecs.cpp — one compressed frame: JPEG-LS, JPEG 2000 and HTJ2K go to CharLS and OpenJPEG directly
// (direct_codecs.cpp); JPEG baseline, extended and lossless to GDCM's JPEG decoder.
//
// Swift parses the DICOM file, finds the frame's fragments and checks the header; this file only wraps
// the compressed bytes the way GDCM's codecs expect (a sequence of one fragment) and copies the decoded
// frame into the caller's buffer. Colour conversion, sign fixes and rescaling happen in Swift.
#include "bridge_internal.h"
#include "bridge_gdcm.h"

#include <memory>
#include <sstream>
#include <mutex>

using medvol_bridge::failure;
using medvol_bridge::guarded;
using medvol_bridge::success;

namespace {

/// GDCM prints warnings and errors on stderr by itself; medvol reports failures through mv_status.
void silence_gdcm_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        gdcm::Trace::DebugOff();
        gdcm::Trace::WarningOff();
        gdcm::Trace::ErrorOff();
    });
}

std::unique_ptr<gdcm::ImageCodec> codec_for(const gdcm::TransferSyntax &syntax) {
    auto codec = std::make_unique<gdcm::JPEGCodec>();
    if (codec->CanDecode(syntax)) return codec;
    return nullptr;
}

enum class direct_codec { none, jpegls, jpeg2000 };

/// The syntaxes decoded by CharLS or OpenJPEG called directly.
direct_codec direct_codec_for(const std::string &uid) {
    if (uid == "1.2.840.10008.1.2.4.80" || uid == "1.2.840.10008.1.2.4.81") return direct_codec::jpegls;
    if (uid == "1.2.840.10008.1.2.4.90" || uid == "1.2.840.10008.1.2.4.91" ||   // JPEG 2000
        uid == "1.2.840.10008.1.2.4.201" || uid == "1.2.840.10008.1.2.4.202" ||  // HTJ2K lossless (RPCL)
        uid == "1.2.840.10008.1.2.4.203") {                                      // HTJ2K
        return direct_codec::jpeg2000;
    }
    return direct_codec::none;
}

} // namespace

extern "C" mv_status mvi_codec_decode_frame(const char *transfer_syntax_uid, const mv_frame_description *frame,
                                           const void *encoded, uint64_t encoded_length, void *decoded,
                                           uint64_t decoded_length, mv_frame_decoding *result) {
    return guarded("decoding frame", [&]() -> mv_status {
        silence_gdcm_once();
        *result = mv_frame_decoding{};
        result->stream_bits = -1;
        result->stream_signed = -1;
        if (encoded_length == 0 || encoded_length > 0xFFFFFFF0ull) return failure("compressed frame has an impossible length");

        switch (direct_codec_for(transfer_syntax_uid)) {
        case direct_codec::jpegls:
            return medvol_bridge::decode_jpegls_frame(frame, encoded, encoded_length, decoded, decoded_length, result);
        case direct_codec::jpeg2000:
            return medvol_bridge::decode_jpeg2000_frame(frame, encoded, encoded_length, decoded, decoded_length, result);
        case direct_codec::none:
            break;
        }

        const gdcm::TransferSyntax syntax = gdcm::TransferSyntax::GetTSType(transfer_syntax_uid);
        if (syntax == gdcm::TransferSyntax::TS_END) {
            return failure(std::string("unknown transfer syntax ") + transfer_syntax_uid);
        }
        std::unique_ptr<gdcm::ImageCodec> codec = codec_for(syntax);
        if (!codec) return failure(std::string("no decoder for transfer syntax ") + transfer_syntax_uid);

        const uint64_t expected = uint64_t(frame->rows) * frame->columns * frame->samples_per_pixel *
                                  (frame->bits_allocated / 8);
        if (expected == 0 || expected != decoded_length) return failure("output buffer does not match the frame size");

        gdcm::SmartPointer<gdcm::SequenceOfFragments> fragments = new gdcm::SequenceOfFragments;
        gdcm::Fragment fragment;
        fragment.SetByteValue(static_cast<const char *>(encoded), static_cast<uint32_t>(encoded_length));
        fragments->AddFragment(fragment);
        gdcm::DataElement input(gdcm::Tag(0x7fe0, 0x0010));
        input.SetVR(gdcm::VR::OB);
        input.SetValue(*fragments);

        const gdcm::PixelFormat format(static_cast<unsigned short>(frame->samples_per_pixel),
                                       static_cast<unsigned short>(frame->bits_allocated),
                                       static_cast<unsigned short>(frame->bits_stored),
                                       static_cast<unsigned short>(frame->bits_stored - 1),
                                       static_cast<unsigned short>(frame->pixel_representation));
        const unsigned int dimensions[3] = {frame->columns, frame->rows, 1};
        codec->SetPixelFormat(format);
        codec->SetNumberOfDimensions(2);
        codec->SetDimensions(dimensions);
        codec->SetPlanarConfiguration(frame->planar_configuration);
        codec->SetPhotometricInterpretation(gdcm::PhotometricInterpretation::GetPIType(frame->photometric));
        codec->SetNeedByteSwap(false);

        // JPEGCodec chooses its 8/12/16-bit decoder from Bits Allocated; a stream of another precision
        // (12-bit samples in 16-bit storage, as Siemens writes them) needs the stream's own. GDCM's
        // reader does this by reading the stream header first; so do we.
        if (auto *jpeg = dynamic_cast<gdcm::JPEGCodec *>(codec.get())) {
            std::stringstream header;
            header.write(static_cast<const char *>(encoded), static_cast<std::streamsize>(encoded_length));
            gdcm::TransferSyntax stream_syntax;
            jpeg->GetHeaderInfo(header, stream_syntax);
        }

        gdcm::DataElement output;
        if (!codec->Decode(input, output)) return failure("the compressed stream could not be decoded");
        const gdcm::ByteValue *bytes = output.GetByteValue();
        if (!bytes) return failure("the decoder produced no pixels");
        if (bytes->GetLength() < expected) {
            return failure("the decoded frame has " + std::to_string(bytes->GetLength()) + " bytes, expected " +
                           std::to_string(expected));
        }
        std::memcpy(decoded, bytes->GetPointer(), expected);

        const gdcm::PhotometricInterpretation photometric = codec->GetPhotometricInterpretation();
        std::snprintf(result->photometric, sizeof result->photometric, "%s",
                      gdcm::PhotometricInterpretation::GetPIString(photometric) ? gdcm::PhotometricInterpretation::GetPIString(photometric) : "");
        result->planar_configuration = codec->GetPlanarConfiguration();
        const gdcm::PixelFormat &stream = codec->GetPixelFormat();
        result->stream_bits = stream.GetBitsStored();
        result->lossy = codec->IsLossy() ? 1 : 0;
        return success();
    });
}
