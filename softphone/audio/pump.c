/* One pump of the agent's call audio, in C: Qt's microphone -> the conference bridge -> Qt's
 * speaker (softphone/audio/native_pump.py loads it; qt_bridge.py decides when it runs).
 *
 * Why C: in a call the audio thread pumped 12.5 times a second and most of each pump was the
 * interpreter and the bindings around a few hundred bytes of audio (per pump ~380 µs of thread
 * CPU, of which pjmedia and the kernel ~120 µs). The same steps here cost what they cost in
 * any softphone. Python keeps every decision that is not per-byte: which devices, when the
 * pump runs, how many bridge frames are due, device failures, level meters.
 *
 * No headers but libc's: the caller hands over every function pointer (Qt's and pjmedia's,
 * looked up by the loader in the libraries already in the process). Qt's are non-virtual C++
 * member functions called with the object as the first argument (the Itanium C++ ABI that
 * GCC and Clang use on Linux and macOS); their names are checked when they are looked up.
 *
 * Threads: every function runs on the audio thread only (it owns the Qt devices and ticks the
 * bridge with the master port's lock held, see master_port.py). Other threads only read the
 * counters, which are plain ints: no lock here.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

/* pjmedia_frame (pjmedia/frame.h); the same layout as master_port._Frame. */
typedef struct {
    int type;
    void *buf;
    size_t size;
    uint64_t timestamp;
    uint32_t bit_info;
} pj_frame;

enum { PJ_FRAME_NONE = 0, PJ_FRAME_AUDIO = 1 };

typedef int64_t (*io_read_fn)(void *io, char *data, int64_t max_size);         /* QIODevice::read */
typedef int64_t (*io_write_fn)(void *io, const char *data, int64_t size);      /* QIODevice::write */
typedef int64_t (*sink_query_fn)(const void *sink); /* QAudioSink::bytesFree / processedUSecs */
typedef int (*frame_fn)(void *port, pj_frame *frame); /* pjmedia_port_put_frame / _get_frame */
typedef struct { long sec, msec; } pj_time_val;
typedef int (*ioqueue_poll_fn)(void *ioqueue, const pj_time_val *timeout); /* pj_ioqueue_poll */

/* A byte FIFO with FrameRing's rules (ring.py): a writer running ahead drops the oldest audio
 * (an overrun); reads wait for `prime` bytes once, and a read that finds too little is an
 * underrun and waits for the reserve again. */
typedef struct {
    unsigned char *buf;
    int32_t cap, len, prime, primed;
    int32_t overruns, underruns, count_underruns;
    double last_write; /* CLOCK_MONOTONIC seconds, the clock of Python's time.monotonic() */
} seat_ring;

typedef struct {
    seat_ring mic;     /* the agent's voice, from the microphone to the bridge */
    seat_ring speaker; /* what the agent hears, from the bridge to the speaker */
    seat_ring mic_tap, speaker_tap; /* the same audio for the level meters, while they are shown */
    int32_t taps_on;

    /* set by Python as streams open and close; NULL: no such stream */
    void *source_io, *sink, *sink_io, *port;
    io_read_fn io_read;
    io_write_fn io_write;
    sink_query_fn sink_bytes_free, sink_processed_usecs;
    frame_fn put_frame, get_frame;

    int32_t frame_bytes;
    unsigned char *frame_in, *frame_out; /* frame_bytes each */
    unsigned char *scratch;              /* one device read */
    int32_t scratch_bytes;

    /* the microphone */
    double mic_requested_at;   /* the bridge last asked for the agent's voice */
    double mic_listen_s;       /* audio read longer than this after it is dropped */
    int64_t mic_bytes;         /* read from the device so far */
    int64_t source_delivered;  /* read since this source opened, until it runs steadily */
    int64_t steady_after;      /* bytes after which a source counts as started */

    /* the speaker (reset when it reopens) */
    int32_t speaker_primed, speaker_started;
    double speaker_high_since; /* 0: not above high */
    int32_t ring_high, ring_low;
    double trim_after_s;

    int32_t failures; /* pjmedia refused a tick */

    /* The media endpoint's sockets (pjmedia's worker thread is stopped: master_port.attach):
     * the call's RTP reaches the jitter buffer right before the frames that play it. */
    void *ioqueue;
    ioqueue_poll_fn ioqueue_poll;
} seat_pump;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void consume(seat_ring *r, int32_t n) {
    if (n >= r->len) {
        r->len = 0;
        return;
    }
    memmove(r->buf, r->buf + n, (size_t)(r->len - n));
    r->len -= n;
}

/* Drop the oldest audio so at most n bytes stay; whole 16-bit samples. */
static int32_t trim_to(seat_ring *r, int32_t n, int count) {
    int32_t excess = r->len - n;
    if (excess <= 0)
        return 0;
    excess -= excess % 2;
    consume(r, excess);
    r->overruns += count;
    return excess;
}

void seat_ring_write(seat_ring *r, const unsigned char *data, int32_t n, double now) {
    if (n > r->cap) { /* more than fits: only the newest */
        int32_t skip = n - r->cap;
        skip += skip % 2;
        data += skip;
        n -= skip;
        r->len = 0;
        r->overruns += 1;
    } else if (r->len + n > r->cap) {
        int32_t excess = r->len + n - r->cap;
        excess += excess % 2;
        consume(r, excess);
        r->overruns += 1;
    }
    memcpy(r->buf + r->len, data, (size_t)n);
    r->len += n;
    if (r->len >= r->prime)
        r->primed = 1;
    r->last_write = now;
}

/* Exactly n bytes into out, or 0 (nothing read: the caller sends silence). */
int seat_ring_read(seat_ring *r, unsigned char *out, int32_t n) {
    if (!r->primed)
        return 0;
    if (r->len < n) {
        r->underruns += r->count_underruns;
        r->primed = 0; /* refill the reserve before draining again */
        return 0;
    }
    memcpy(out, r->buf, (size_t)n);
    consume(r, n);
    return 1;
}

static void pump_microphone(seat_pump *p, double now) {
    if (!p->source_io)
        return;
    for (int guard = 0; guard < 64; guard++) { /* bounded: a device keeps no more than its ring */
        int64_t got = p->io_read(p->source_io, (char *)p->scratch, p->scratch_bytes);
        if (got <= 0)
            break;
        p->mic_bytes += got;
        if (now - p->mic_requested_at >= p->mic_listen_s)
            continue; /* nobody listens: drop */
        seat_ring_write(&p->mic, p->scratch, (int32_t)got, now);
        if (p->taps_on)
            seat_ring_write(&p->mic_tap, p->scratch, (int32_t)got, now);
        if (!p->mic.count_underruns) {
            /* A freshly started source trickles for up to ~1 s before it runs steadily. */
            p->source_delivered += got;
            p->mic.count_underruns = p->source_delivered >= p->steady_after;
        }
    }
}

static void tick_bridge(seat_pump *p, int32_t frames, double now) {
    int32_t n = p->frame_bytes;
    pj_frame put, get;
    for (int32_t i = 0; i < frames; i++) {
        if (!seat_ring_read(&p->mic, p->frame_in, n))
            memset(p->frame_in, 0, (size_t)n); /* silence as audio: slot 0's delay buffer stays primed */
        memset(&put, 0, sizeof put);
        memset(&get, 0, sizeof get);
        put.type = PJ_FRAME_AUDIO;
        put.buf = p->frame_in;
        put.size = (size_t)n; /* the bridge asserts whole frames */
        get.type = PJ_FRAME_NONE;
        get.buf = p->frame_out;
        get.size = (size_t)n;
        if (p->put_frame(p->port, &put) | p->get_frame(p->port, &get)) {
            p->failures += 1;
            continue;
        }
        if (get.type == PJ_FRAME_AUDIO && get.size)
            seat_ring_write(&p->speaker, p->frame_out, (int32_t)get.size, now);
    }
}

static void pump_speaker(seat_pump *p, double now) {
    seat_ring *r = &p->speaker;
    if (!p->sink || !p->sink_io)
        return;
    if (!p->speaker_primed) {
        if (r->len < r->prime)
            return;
        p->speaker_primed = 1;
    }
    int64_t free_bytes = p->sink_bytes_free(p->sink);
    free_bytes -= free_bytes % 2;
    int32_t n = free_bytes < r->len ? (int32_t)free_bytes : r->len;
    if (n > 0) {
        int64_t written = p->io_write(p->sink_io, (const char *)r->buf, n);
        if (p->taps_on)
            seat_ring_write(&p->speaker_tap, r->buf, n, now);
        /* the device took less: keep the rest, in order; an error drops what was offered */
        consume(r, written >= 0 && written < n ? (int32_t)written : n);
    }
    if (!p->speaker_started) {
        if (p->sink_processed_usecs(p->sink) == 0) {
            /* The device has not started playing yet (PulseAudio needs up to ~0.5 s): keep only
             * the jitter reserve; this is start-up, not a glitch. */
            trim_to(r, r->prime, 0);
            return;
        }
        p->speaker_started = 1;
    }
    if (r->len > p->ring_high) {
        if (p->speaker_high_since == 0.0) {
            p->speaker_high_since = now;
        } else if (now - p->speaker_high_since > p->trim_after_s) {
            trim_to(r, p->ring_low, 1);
            p->speaker_high_since = 0.0;
        }
    } else {
        p->speaker_high_since = 0.0;
    }
}

/* One pump: receive the call's RTP, read the microphone, run `frames` bridge frames (0: the
 * bridge is not clocked now), top the speaker up. Returns the pjmedia failures so far. */
static void receive(seat_pump *p) {
    const pj_time_val no_wait = {0, 0};
    for (int i = 0; i < 8; i++) /* bounded: ~4 packets arrive a pump; a poll takes a batch */
        if (p->ioqueue_poll(p->ioqueue, &no_wait) <= 0)
            break;
}

int32_t seat_pump_run(seat_pump *p, int32_t frames) {
    double now = now_s();
    if (p->ioqueue)
        receive(p);
    pump_microphone(p, now);
    if (frames > 0) {
        p->mic_requested_at = now;
        if (p->port)
            tick_bridge(p, frames, now);
    }
    pump_speaker(p, now);
    return p->failures;
}
