// bridge_exports.h — what libMedVolBridge.so exports: each mv_ function of medvol_bridge.h as mvi_ (the
// loader, which Swift links, defines the mv_ names and forwards to these). exports_check.cpp proves that
// the signatures match.
#ifndef MEDVOL_BRIDGE_EXPORTS_H
#define MEDVOL_BRIDGE_EXPORTS_H

#include "medvol_bridge.h"

extern "C" {
mv_status mvi_image_reader_open(const char *, mv_image_format, mv_image_reader **, mv_image_header *);
mv_status mvi_image_reader_read(mv_image_reader *, void *, uint64_t);
void mvi_image_reader_close(mv_image_reader *);
mv_status mvi_image_write(const char *, mv_image_format, const mv_image_header *, const void *, int);
mv_status mvi_codec_decode_frame(const char *, const mv_frame_description *, const void *, uint64_t, void *, uint64_t,
                                 mv_frame_decoding *);
mv_status mvi_codec_decode_frame_isolated(const char *, const mv_frame_description *, const void *, uint64_t, void *,
                                          uint64_t, double, mv_frame_decoding *);
mv_status mvi_jpeg_write(const char *, uint32_t, uint32_t, uint32_t, const uint8_t *, int);
int mvi_codec_worker_accepts(int, char **);
void mvi_codec_worker_main(void);
}

#endif
