// medvol-codec-worker — the program MedVol's decoder pool runs its worker processes with (see
// Bridging/Implementation/gdcm_codec_worker.cpp), so that a worker never re-runs the program that asked
// for it. It links only the bridge's loader, whose constructor serves decode requests and exits before
// `main` when the pool started this process; `main` is reached only when someone else starts it.
#include <stdio.h>

int main(void) {
    fputs("medvol-codec-worker: a decoder process of MedVol; MedVol's decoder pool starts it, with a socket to "
          "its parent, when it decodes JPEG, JPEG-LS or JPEG 2000 frames. It does nothing on its own.\n",
          stderr);
    return 2;
}
