// bridge_gdcm.h — the one place that includes GDCM headers.
#ifndef MEDVOL_BRIDGE_GDCM_H
#define MEDVOL_BRIDGE_GDCM_H

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Weverything"
#include <gdcmDataElement.h>
#include <gdcmDict.h>
#include <gdcmDicts.h>
#include <gdcmFragment.h>
#include <gdcmGlobal.h>
#include <gdcmJPEG2000Codec.h>
#include <gdcmJPEGCodec.h>
#include <gdcmJPEGLSCodec.h>
#include <gdcmPhotometricInterpretation.h>
#include <gdcmPixelFormat.h>
#include <gdcmSequenceOfFragments.h>
#include <gdcmTrace.h>
#include <gdcmTransferSyntax.h>
#include <gdcmUIDs.h>
#pragma clang diagnostic pop

#endif
