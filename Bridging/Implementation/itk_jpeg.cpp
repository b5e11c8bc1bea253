// itk_jpeg.cpp — rendered 8-bit pictures written as JPEG through ITK's JPEGImageIO (which uses the
// system libjpeg). Like itk_image_io.cpp, the ImageIO is used directly: no itk::Image, no factories.
#include "bridge_internal.h"

#include "itk_compiler_detection_clang.h"
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Weverything"
#include <itkJPEGImageIO.h>
#pragma clang diagnostic pop

using medvol_bridge::failure;
using medvol_bridge::guarded;
using medvol_bridge::shortened_itk_message;
using medvol_bridge::success;

extern "C" mv_status mvi_jpeg_write(const char *path, uint32_t width, uint32_t height, uint32_t components,
                                   const uint8_t *pixels, int quality) {
    return guarded("writing JPEG", [&]() -> mv_status {
        if (width == 0 || height == 0 || width > 65500 || height > 65500) {
            return failure("JPEG images are 1 to 65500 pixels wide and high");
        }
        if (components != 1 && components != 3) return failure("JPEG images here are grey or RGB");
        itk::JPEGImageIO::Pointer io = itk::JPEGImageIO::New();
        io->SetNumberOfDimensions(2);
        io->SetDimensions(0, width);
        io->SetDimensions(1, height);
        io->SetSpacing(0, 1.0);
        io->SetSpacing(1, 1.0);
        io->SetComponentType(itk::IOComponentEnum::UCHAR);
        io->SetNumberOfComponents(components);
        io->SetPixelType(components == 3 ? itk::IOPixelEnum::RGB : itk::IOPixelEnum::SCALAR);
        io->SetQuality(quality < 1 ? 1 : quality > 100 ? 100 : quality);
        io->SetProgressive(false);
        io->SetFileName(path);
        itk::ImageIORegion region(2);
        region.SetIndex(0, 0);
        region.SetIndex(1, 0);
        region.SetSize(0, width);
        region.SetSize(1, height);
        io->SetIORegion(region);
        try {
            io->Write(pixels);
        } catch (const itk::ExceptionObject &error) {
            return failure(shortened_itk_message(error.GetDescription()));
        }
        return success();
    });
}
