#include "dsp/audio_file.h"

#include <math.h>
#include <stdio.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_FRAMES 4096
/* 12 hours at the output rate: beyond that read_all refuses rather than
 * allocating gigabytes; streaming readers have no limit. */
#define READ_ALL_MAX_SECONDS (12 * 3600)

struct ww_audio_reader {
    SNDFILE *sf;
    SF_INFO si;
    soxr_t rs;
    float *raw;  /* BLOCK_FRAMES * channels */
    float *mono; /* BLOCK_FRAMES */
    size_t mono_len, mono_pos;
    int64_t frames_read;
    int eof;
    char path[1024];
    /* memory source for ww_audio_open_mem */
    const unsigned char *mem;
    sf_count_t mem_len, mem_pos;
};

void ww_audio_close(ww_audio_reader *r)
{
    if (!r) return;
    if (r->sf) sf_close(r->sf);
    if (r->rs) soxr_delete(r->rs);
    free(r->raw);
    free(r->mono);
    free(r);
}

static sf_count_t mem_get_filelen(void *user)
{
    return ((ww_audio_reader *)user)->mem_len;
}

static sf_count_t mem_seek(sf_count_t offset, int whence, void *user)
{
    ww_audio_reader *r = user;
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? r->mem_pos : r->mem_len;
    sf_count_t pos = base + offset;
    if (pos < 0 || pos > r->mem_len) return -1;
    r->mem_pos = pos;
    return pos;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *user)
{
    ww_audio_reader *r = user;
    sf_count_t left = r->mem_len - r->mem_pos;
    if (count > left) count = left;
    if (count > 0) memcpy(ptr, r->mem + r->mem_pos, (size_t)count);
    r->mem_pos += count > 0 ? count : 0;
    return count > 0 ? count : 0;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *user)
{
    (void)ptr, (void)count, (void)user;
    return 0;
}

static sf_count_t mem_tell(void *user)
{
    return ((ww_audio_reader *)user)->mem_pos;
}

static int open_common(ww_audio_reader *r, int out_rate, ww_audio_reader **out, ww_audio_info *info,
                       ww_error *err);

int ww_audio_open_mem(const void *data, size_t len, const char *name, int out_rate,
                      ww_audio_reader **out, ww_audio_info *info, ww_error *err)
{
    *out = NULL;
    ww_audio_reader *r = calloc(1, sizeof *r);
    if (!r) return ww_fail(err, WW_ENOMEM, "%s: out of memory", name);
    snprintf(r->path, sizeof r->path, "%s", name);
    r->mem = data;
    r->mem_len = (sf_count_t)len;
    static SF_VIRTUAL_IO vio = {mem_get_filelen, mem_seek, mem_read, mem_write, mem_tell};
    r->sf = sf_open_virtual(&vio, SFM_READ, &r->si, r);
    return open_common(r, out_rate, out, info, err);
}

int ww_audio_open(const char *path, int out_rate, ww_audio_reader **out, ww_audio_info *info,
                  ww_error *err)
{
    *out = NULL;
    ww_audio_reader *r = calloc(1, sizeof *r);
    if (!r) return ww_fail(err, WW_ENOMEM, "%s: out of memory", path);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->sf = sf_open(path, SFM_READ, &r->si);
    return open_common(r, out_rate, out, info, err);
}

static int open_common(ww_audio_reader *r, int out_rate, ww_audio_reader **out, ww_audio_info *info,
                       ww_error *err)
{
    const char *path = r->path;
    if (out_rate < WW_AUDIO_MIN_RATE || out_rate > WW_AUDIO_MAX_RATE) {
        ww_audio_close(r);
        return ww_fail(err, WW_EINVAL, "output sample rate %d Hz is out of range", out_rate);
    }
    if (!r->sf) {
        int rc = ww_fail(err, WW_EFORMAT, "%s: cannot read audio: %s", path, sf_strerror(NULL));
        ww_audio_close(r);
        return rc;
    }
    int rc = WW_OK;
    if (r->si.samplerate < WW_AUDIO_MIN_RATE || r->si.samplerate > WW_AUDIO_MAX_RATE)
        rc = ww_fail(err, WW_EFORMAT, "%s: sample rate %d Hz is out of range (%d..%d)", path,
                     r->si.samplerate, WW_AUDIO_MIN_RATE, WW_AUDIO_MAX_RATE);
    else if (r->si.channels < 1 || r->si.channels > 64)
        rc = ww_fail(err, WW_EFORMAT, "%s: %d channels is out of range (1..64)", path,
                     r->si.channels);
    else if (r->si.frames <= 0)
        rc = ww_fail(err, WW_EFORMAT, "%s: contains no audio", path);
    if (!rc) {
        r->raw = malloc(sizeof(float) * BLOCK_FRAMES * (size_t)r->si.channels);
        r->mono = malloc(sizeof(float) * BLOCK_FRAMES);
        if (!r->raw || !r->mono) rc = ww_fail(err, WW_ENOMEM, "%s: out of memory", path);
    }
    if (!rc && r->si.samplerate != out_rate) {
        soxr_error_t e;
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
        r->rs = soxr_create(r->si.samplerate, out_rate, 1, &e, &io, &q, NULL);
        if (!r->rs) rc = ww_fail(err, WW_EINVAL, "%s: cannot resample: %s", path, e);
    }
    if (rc) {
        ww_audio_close(r);
        return rc;
    }
    if (info) {
        info->file_rate = r->si.samplerate;
        info->file_channels = r->si.channels;
        info->file_frames = r->si.frames;
        info->out_rate = out_rate;
        info->resampled = r->rs != NULL;
    }
    *out = r;
    return WW_OK;
}

static int fill_block(ww_audio_reader *r, ww_error *err)
{
    sf_count_t n = sf_readf_float(r->sf, r->raw, BLOCK_FRAMES);
    if (n <= 0) {
        if (sf_error(r->sf))
            return ww_fail(err, WW_EIO, "%s: read error: %s", r->path, sf_strerror(r->sf));
        r->eof = 1;
        r->mono_len = r->mono_pos = 0;
        return WW_OK;
    }
    const int ch = r->si.channels;
    for (sf_count_t i = 0; i < n; i++) {
        float acc = 0.0f;
        for (int c = 0; c < ch; c++) acc += r->raw[i * ch + c];
        float v = ch == 1 ? acc : acc / (float)ch;
        if (!isfinite(v))
            return ww_fail(err, WW_EFORMAT, "%s: sample %lld is NaN or infinite", r->path,
                           (long long)(r->frames_read + i));
        r->mono[i] = v;
    }
    r->frames_read += n;
    r->mono_len = (size_t)n;
    r->mono_pos = 0;
    return WW_OK;
}

ssize_t ww_audio_read(ww_audio_reader *r, float *out, size_t max, ww_error *err)
{
    size_t got = 0;
    while (got < max) {
        if (r->mono_pos == r->mono_len && !r->eof) {
            int rc = fill_block(r, err);
            if (rc) return rc;
            continue;
        }
        if (!r->rs) {
            if (r->eof) break;
            size_t take = r->mono_len - r->mono_pos;
            if (take > max - got) take = max - got;
            memcpy(out + got, r->mono + r->mono_pos, take * sizeof(float));
            r->mono_pos += take;
            got += take;
            continue;
        }
        size_t idone = 0, odone = 0;
        /* at the end, a NULL input drains what the resampler still holds */
        const float *in = r->eof ? NULL : r->mono + r->mono_pos;
        size_t ilen = r->eof ? 0 : r->mono_len - r->mono_pos;
        soxr_error_t e = soxr_process(r->rs, in, ilen, &idone, out + got, max - got, &odone);
        if (e) return ww_fail(err, WW_EIO, "%s: resampling failed: %s", r->path, e);
        r->mono_pos += idone;
        got += odone;
        if (r->eof && odone == 0) break;
    }
    return (ssize_t)got;
}

int ww_audio_read_all(const char *path, int out_rate, float **samples, size_t *n,
                      ww_audio_info *info, ww_error *err)
{
    *samples = NULL;
    *n = 0;
    ww_audio_reader *r;
    ww_audio_info local;
    int rc = ww_audio_open(path, out_rate, &r, &local, err);
    if (rc) return rc;
    if (info) *info = local;
    size_t limit = (size_t)out_rate * READ_ALL_MAX_SECONDS;
    double expect = (double)local.file_frames * out_rate / local.file_rate;
    if (expect > (double)limit) {
        ww_audio_close(r);
        return ww_fail(err, WW_ENOMEM, "%s: longer than %d hours; stream it instead", path,
                       READ_ALL_MAX_SECONDS / 3600);
    }
    size_t cap = (size_t)expect + 4096, len = 0;
    float *buf = malloc(cap * sizeof(float));
    if (!buf) rc = ww_fail(err, WW_ENOMEM, "%s: out of memory", path);
    while (!rc) {
        if (len == cap) {
            float *nb = cap < limit ? realloc(buf, 2 * cap * sizeof(float)) : NULL;
            if (!nb) {
                rc = ww_fail(err, WW_ENOMEM, "%s: out of memory", path);
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t got = ww_audio_read(r, buf + len, cap - len, err);
        if (got < 0)
            rc = (int)got;
        else if (got == 0)
            break;
        else
            len += (size_t)got;
    }
    ww_audio_close(r);
    if (!rc && len == 0) rc = ww_fail(err, WW_EFORMAT, "%s: contains no audio", path);
    if (rc) {
        free(buf);
        return rc;
    }
    *samples = buf;
    *n = len;
    return WW_OK;
}
