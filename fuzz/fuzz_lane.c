/* fuzz_lane.c: fuzz_worker's cases with the bytes sent through the shared-memory lane
 * (ring.h) instead of the socket, plus counters a compromised worker forged and stray
 * socket bytes that are not doorbells (fake_worker.c says how an input picks them). The
 * same promises hold: every call answered once with {ok} or {error}, no hostcall for an
 * instance the host did not send, no hang, no leak, and no read outside the mapping. */
#define AL_FUZZ_LANE 1
#include "fuzz_worker.c"
