// bridge_itk.h — the one place that includes ITK headers, with the clang compatibility header first.
#ifndef MEDVOL_BRIDGE_ITK_H
#define MEDVOL_BRIDGE_ITK_H

#include "itk_compiler_detection_clang.h"

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Weverything"
#include <itkImageIOBase.h>
#include <itkMetaImageIO.h>
#include <itkNiftiImageIO.h>
#include <itkNrrdImageIO.h>
#pragma clang diagnostic pop

#endif
