// itk_image_io.cpp — MetaImage, NIfTI and NRRD through ITK's ImageIO classes (no itk::Image, no
// pipeline): the header becomes an mv_image_header, and voxels move between the file and the caller's
// buffer in one read or write. Which format to use is decided in Swift; nothing is registered with
// ITK's object factories, so none is needed.
#include "bridge_internal.h"
#include "bridge_itk.h"

#include <cmath>
#include <mutex>

using medvol_bridge::failure;
using medvol_bridge::guarded;
using medvol_bridge::shortened_itk_message;
using medvol_bridge::success;

struct mv_image_reader {
    itk::ImageIOBase::Pointer io;
    mv_image_format format = MV_IMAGE_FORMAT_METAIMAGE;
    uint64_t byte_count = 0;
};

namespace {

/// Teem, under ITK's NrrdImageIO, keeps its error messages ("biff") in process-global arrays without a
/// lock: two NRRD reads failing at once on different threads corrupt them and crash (seen as SIGSEGV in
/// strcmp under biffAdd). NRRD calls therefore run one at a time. (MetaImage and NIfTI showed no such
/// crash under the same concurrent damaged-file tests.)
std::mutex nrrd_mutex;

std::unique_lock<std::mutex> lock_if_nrrd(mv_image_format format) {
    return format == MV_IMAGE_FORMAT_NRRD ? std::unique_lock<std::mutex>(nrrd_mutex) : std::unique_lock<std::mutex>();
}

itk::ImageIOBase::Pointer make_image_io(mv_image_format format) {
    switch (format) {
    case MV_IMAGE_FORMAT_METAIMAGE: return itk::MetaImageIO::New().GetPointer();
    case MV_IMAGE_FORMAT_NIFTI: return itk::NiftiImageIO::New().GetPointer();
    case MV_IMAGE_FORMAT_NRRD: return itk::NrrdImageIO::New().GetPointer();
    }
    return nullptr;
}

using ITKComponent = itk::IOComponentEnum;

/// ITK names integer types after C types; map by size so that 64-bit `long` is handled on every platform.
mv_component_type component_from_itk(ITKComponent type) {
    switch (type) {
    case ITKComponent::UCHAR: return MV_COMPONENT_UINT8;
    case ITKComponent::CHAR: return MV_COMPONENT_INT8;
    case ITKComponent::USHORT: return MV_COMPONENT_UINT16;
    case ITKComponent::SHORT: return MV_COMPONENT_INT16;
    case ITKComponent::UINT: return MV_COMPONENT_UINT32;
    case ITKComponent::INT: return MV_COMPONENT_INT32;
    case ITKComponent::ULONG: return sizeof(unsigned long) == 8 ? MV_COMPONENT_UINT64 : MV_COMPONENT_UINT32;
    case ITKComponent::LONG: return sizeof(long) == 8 ? MV_COMPONENT_INT64 : MV_COMPONENT_INT32;
    case ITKComponent::ULONGLONG: return MV_COMPONENT_UINT64;
    case ITKComponent::LONGLONG: return MV_COMPONENT_INT64;
    case ITKComponent::FLOAT: return MV_COMPONENT_FLOAT32;
    case ITKComponent::DOUBLE: return MV_COMPONENT_FLOAT64;
    default: return MV_COMPONENT_UNKNOWN;
    }
}

ITKComponent component_to_itk(uint32_t type) {
    switch (type) {
    case MV_COMPONENT_UINT8: return ITKComponent::UCHAR;
    case MV_COMPONENT_INT8: return ITKComponent::CHAR;
    case MV_COMPONENT_UINT16: return ITKComponent::USHORT;
    case MV_COMPONENT_INT16: return ITKComponent::SHORT;
    case MV_COMPONENT_UINT32: return ITKComponent::UINT;
    case MV_COMPONENT_INT32: return ITKComponent::INT;
    case MV_COMPONENT_UINT64: return ITKComponent::ULONGLONG;
    case MV_COMPONENT_INT64: return ITKComponent::LONGLONG;
    case MV_COMPONENT_FLOAT32: return ITKComponent::FLOAT;
    case MV_COMPONENT_FLOAT64: return ITKComponent::DOUBLE;
    default: return ITKComponent::UNKNOWNCOMPONENTTYPE;
    }
}

itk::ImageIORegion whole_region(const itk::ImageIOBase &io) {
    const unsigned int dimensions = io.GetNumberOfDimensions();
    itk::ImageIORegion region(dimensions);
    for (unsigned int axis = 0; axis < dimensions; ++axis) {
        region.SetIndex(axis, 0);
        region.SetSize(axis, io.GetDimensions(axis));
    }
    return region;
}

/// Fills `header` from an ImageIO whose information has been read.
mv_status header_from_io(const itk::ImageIOBase &io, mv_image_header *header) {
    const unsigned int dimensions = io.GetNumberOfDimensions();
    if (dimensions < 2 || dimensions > 4) {
        return failure("images of " + std::to_string(dimensions) + " dimensions are not supported (2, 3 or 4)");
    }
    *header = mv_image_header{};
    header->dimensions = dimensions;
    for (int axis = 0; axis < 4; ++axis) header->size[axis] = 1;
    for (int axis = 0; axis < 3; ++axis) header->spacing[axis] = 1.0;
    for (int row = 0; row < 3; ++row)
        for (int column = 0; column < 3; ++column) header->direction[row * 3 + column] = row == column ? 1.0 : 0.0;
    header->time_spacing = 1.0;
    header->time_origin = 0.0;

    const unsigned int spatial = dimensions < 3 ? dimensions : 3;
    for (unsigned int axis = 0; axis < dimensions; ++axis) header->size[axis] = io.GetDimensions(axis);
    for (unsigned int axis = 0; axis < spatial; ++axis) {
        header->spacing[axis] = io.GetSpacing(axis);
        header->origin[axis] = io.GetOrigin(axis);
        const std::vector<double> column = io.GetDirection(axis);  // ITK: direction of index axis `axis`
        for (unsigned int row = 0; row < spatial && row < column.size(); ++row) {
            header->direction[row * 3 + axis] = column[row];
        }
    }
    if (dimensions == 4) {
        header->time_spacing = io.GetSpacing(3);
        header->time_origin = io.GetOrigin(3);
    }
    header->component_type = component_from_itk(io.GetComponentType());
    header->components = io.GetNumberOfComponents();
    header->byte_count = static_cast<uint64_t>(io.GetImageSizeInBytes());
    if (header->component_type == MV_COMPONENT_UNKNOWN) {
        return failure(std::string("unsupported voxel type ") +
                       itk::ImageIOBase::GetComponentTypeAsString(io.GetComponentType()));
    }
    return success();
}

} // namespace

extern "C" mv_status mvi_image_reader_open(const char *path, mv_image_format format, mv_image_reader **reader,
                                          mv_image_header *header) {
    *reader = nullptr;
    medvol_bridge::captured_stderr printed;
    mv_status status = guarded("reading header", [&]() -> mv_status {
        auto lock = lock_if_nrrd(format);
        itk::ImageIOBase::Pointer io = make_image_io(format);
        if (!io) return failure("unknown image format");
        if (!io->CanReadFile(path)) return failure("not a readable file of this format");
        io->SetFileName(path);
        try {
            io->ReadImageInformation();
        } catch (const itk::ExceptionObject &error) {
            return failure(shortened_itk_message(error.GetDescription()));
        }
        mv_status status = header_from_io(*io, header);
        if (!status.ok) return status;
        auto *opened = new mv_image_reader;
        opened->io = io;
        opened->format = format;
        opened->byte_count = header->byte_count;
        *reader = opened;
        return success();
    });
    return medvol_bridge::with_printed(status, printed.text());
}

extern "C" mv_status mvi_image_reader_read(mv_image_reader *reader, void *buffer, uint64_t byte_count) {
    medvol_bridge::captured_stderr printed;
    mv_status status = guarded("reading voxels", [&]() -> mv_status {
        if (!reader || !reader->io) return failure("reader is closed");
        auto lock = lock_if_nrrd(reader->format);
        if (byte_count != reader->byte_count) return failure("buffer size does not match the image");
        reader->io->SetIORegion(whole_region(*reader->io));
        try {
            reader->io->Read(buffer);
        } catch (const itk::ExceptionObject &error) {
            return failure(shortened_itk_message(error.GetDescription()));
        }
        return success();
    });
    return medvol_bridge::with_printed(status, printed.text());
}

extern "C" void mvi_image_reader_close(mv_image_reader *reader) {
    if (!reader) return;
    auto lock = lock_if_nrrd(reader->format);
    delete reader;
}

extern "C" mv_status mvi_image_write(const char *path, mv_image_format format, const mv_image_header *header,
                                    const void *buffer, int compress) {
    medvol_bridge::captured_stderr printed;
    mv_status status = guarded("writing image", [&]() -> mv_status {
        auto lock = lock_if_nrrd(format);
        itk::ImageIOBase::Pointer io = make_image_io(format);
        if (!io) return failure("unknown image format");
        const unsigned int dimensions = header->dimensions;
        if (dimensions < 2 || dimensions > 4) return failure("only 2, 3 or 4 dimensions can be written");
        io->SetNumberOfDimensions(dimensions);
        const unsigned int spatial = dimensions < 3 ? dimensions : 3;
        for (unsigned int axis = 0; axis < dimensions; ++axis) {
            io->SetDimensions(axis, static_cast<itk::SizeValueType>(header->size[axis]));
            std::vector<double> column(dimensions, 0.0);
            if (axis < spatial) {
                io->SetSpacing(axis, header->spacing[axis]);
                io->SetOrigin(axis, header->origin[axis]);
                for (unsigned int row = 0; row < spatial; ++row) column[row] = header->direction[row * 3 + axis];
            } else {
                io->SetSpacing(axis, header->time_spacing);
                io->SetOrigin(axis, header->time_origin);
                column[axis] = 1.0;
            }
            io->SetDirection(axis, column);
        }
        const ITKComponent component = component_to_itk(header->component_type);
        if (component == ITKComponent::UNKNOWNCOMPONENTTYPE) return failure("unsupported voxel type");
        io->SetComponentType(component);
        io->SetNumberOfComponents(header->components);
        switch (header->components) {
        case 1: io->SetPixelType(itk::IOPixelEnum::SCALAR); break;
        case 3: io->SetPixelType(itk::IOPixelEnum::RGB); break;
        case 4: io->SetPixelType(itk::IOPixelEnum::RGBA); break;
        default: io->SetPixelType(itk::IOPixelEnum::VECTOR); break;
        }
        io->SetFileName(path);
        io->SetUseCompression(compress != 0);
        io->SetIORegion(whole_region(*io));
        try {
            io->WriteImageInformation();
            io->Write(buffer);
        } catch (const itk::ExceptionObject &error) {
            return failure(shortened_itk_message(error.GetDescription()));
        }
        return success();
    });
    return medvol_bridge::with_printed(status, printed.text());
}
