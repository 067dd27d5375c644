#include "daemon/events.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* the writer thread's file and line would tell a reader of the journal nothing */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "daemon/outq.h"

/* per output: 300-1000 typical messages, on top of what the socket or pipe
 * itself holds */
#define QUEUE_BYTES (64 * 1024)

static int use_journal = 1, use_stderr = 1;

/* --- records --------------------------------------------------------------- */

/* Text built into a fixed buffer; len keeps counting past the end, so an
 * overflow shows as len >= size. */
typedef struct text {
    char *p;
    size_t size, len;
} text;
#define TEXT(buf) ((text){(buf), sizeof(buf), 0})

__attribute__((format(printf, 2, 3))) static void text_add(text *t, const char *fmt, ...)
{
    size_t at = t->len < t->size ? t->len : t->size;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p + at, t->size - at, fmt, ap);
    va_end(ap);
    if (n > 0) t->len += (size_t)n;
}

static size_t text_len(const text *t)
{
    return t->len < t->size ? t->len : t->size - 1;
}

/* A journal record is its "FIELD=value" strings, each ending in a NUL. */
#define text_field(t, ...) (text_add((t), __VA_ARGS__), text_add((t), "%c", '\0'))

static void journal_common_fields(text *t, int priority, const char *msgid)
{
    text_field(t, "PRIORITY=%d", priority);
    if (msgid) text_field(t, "MESSAGE_ID=%s", msgid);
    text_field(t, "SYSLOG_IDENTIFIER=wakewordd");
}

static void json_string(text *t, const char *s)
{
    text_add(t, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            text_add(t, "\\%c", *p);
        else if (*p == '\n')
            text_add(t, "\\n");
        else if (*p == '\t')
            text_add(t, "\\t");
        else if (*p < 0x20)
            text_add(t, "\\u%04x", *p);
        else
            text_add(t, "%c", *p);
    }
    text_add(t, "\"");
}

static void json_detection(text *t, const char *file, const ww_detection *d, uint64_t usec)
{
    text_add(t, "{");
    if (file) {
        text_add(t, "\"file\": ");
        json_string(t, file);
        text_add(t, ", ");
    }
    text_add(t, "\"keyword\": ");
    json_string(t, d->keyword);
    text_add(t, ", \"score\": %.6f, \"time_s\": %.3f, \"model\": ", d->score, d->time_s);
    json_string(t, d->model);
    if (usec) text_add(t, ", \"timestamp_usec\": %llu", (unsigned long long)usec);
    text_add(t, "}\n");
}

/* --- outputs --------------------------------------------------------------- */

typedef struct output {
    const char *thread_name;
    ww_outq_write_fn write;
    ww_outq_notice_fn notice;
    int fd; /* stderr, stdout; -1 for the journal */
    ww_outq *q;
} output;

static void journal_write(void *user, const char *rec, size_t len)
{
    (void)user;
    struct iovec iov[16];
    int n = 0;
    for (size_t at = 0; at < len && n < 16; n++) {
        size_t l = strnlen(rec + at, len - at);
        iov[n] = (struct iovec){.iov_base = (void *)(rec + at), .iov_len = l};
        at += l + 1;
    }
    sd_journal_sendv(iov, n);
}

/* write(2), not stdio: a writer blocked in fwrite would hold the FILE's lock
 * against anyone else printing there */
static void fd_write(void *user, const char *rec, size_t len)
{
    const output *o = user;
    while (len > 0) {
        ssize_t w = write(o->fd, rec, len);
        if (w > 0) {
            rec += w;
            len -= (size_t)w;
        } else if (w < 0 && errno == EAGAIN) { /* someone made it nonblocking */
            struct pollfd p = {.fd = o->fd, .events = POLLOUT};
            poll(&p, 1, -1);
        } else if (!(w < 0 && errno == EINTR)) {
            return; /* closed or failing: the message is lost, as stdio's would be */
        }
    }
}

static size_t journal_notice(void *user, uint64_t n, char *buf, size_t size)
{
    (void)user;
    text t = {buf, size, 0};
    text_field(&t, "MESSAGE=%" PRIu64 " message%s dropped: the journal did not keep up", n,
               n == 1 ? "" : "s");
    journal_common_fields(&t, LOG_WARNING, WW_MSGID_DROPPED);
    return text_len(&t);
}

static size_t stderr_notice(void *user, uint64_t n, char *buf, size_t size)
{
    (void)user;
    text t = {buf, size, 0};
    text_add(&t, "wakewordd: %" PRIu64 " message%s dropped: stderr was not read fast enough\n", n,
             n == 1 ? "" : "s");
    return text_len(&t);
}

/* stdout carries detections only, one JSON object a line, so the notice goes
 * to the log instead */
static size_t stdout_notice(void *user, uint64_t n, char *buf, size_t size)
{
    (void)user, (void)buf, (void)size;
    ww_log(LOG_WARNING, WW_MSGID_DROPPED,
           "%" PRIu64 " detection line%s dropped: stdout was not read fast enough", n,
           n == 1 ? "" : "s");
    return 0;
}

/* A notification is its text with the terminating NUL (sd_notify takes a C
 * string). libsystemd's sd_notify sends on a blocking socket: it waits as long
 * as the service manager's queue is full (net.unix.max_dgram_qlen datagrams),
 * so it gets a writer of its own too. */
static void notify_write(void *user, const char *rec, size_t len)
{
    (void)user;
    if (len && rec[len - 1] == '\0') sd_notify(0, rec);
}

static size_t notify_notice(void *user, uint64_t n, char *buf, size_t size)
{
    (void)user, (void)buf, (void)size;
    ww_log(LOG_WARNING, WW_MSGID_DROPPED,
           "%" PRIu64 " notification%s to the service manager dropped: $NOTIFY_SOCKET was not read "
           "fast enough",
           n, n == 1 ? "" : "s");
    return 0;
}

static output out_journal = {"ww-journal", journal_write, journal_notice, -1, NULL};
static output out_stderr = {"ww-stderr", fd_write, stderr_notice, STDERR_FILENO, NULL};
static output out_stdout = {"ww-stdout", fd_write, stdout_notice, STDOUT_FILENO, NULL};
static output out_notify = {"ww-notify", notify_write, notify_notice, -1, NULL};
static output *const outputs[] = {&out_journal, &out_stderr, &out_stdout, &out_notify};
#define N_OUTPUTS (sizeof outputs / sizeof outputs[0])
static uint64_t dropped_by_stopped; /* by the queues ww_events_stop took down */

static void emit(output *o, const text *t)
{
    if (o->q)
        ww_outq_push(o->q, t->p, text_len(t));
    else
        o->write(o, t->p, text_len(t));
}

int ww_events_start(ww_error *err)
{
    for (size_t i = 0; i < N_OUTPUTS; i++) {
        output *o = outputs[i];
        if (o->q) continue;
        int rc = ww_outq_start(o->thread_name, QUEUE_BYTES, o->write, o->notice, o, &o->q, err);
        if (rc) {
            ww_events_stop(0);
            return rc;
        }
    }
    return WW_OK;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ww_events_stop(int timeout_ms)
{
    for (size_t i = 0; i < N_OUTPUTS; i++)
        if (outputs[i]->q) ww_outq_close(outputs[i]->q);
    uint64_t deadline = now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    for (size_t i = 0; i < N_OUTPUTS; i++) {
        output *o = outputs[i];
        if (!o->q) continue;
        uint64_t now = now_ms();
        dropped_by_stopped += ww_outq_dropped(o->q);
        ww_outq_stop(o->q, now < deadline ? (int)(deadline - now) : 0);
        o->q = NULL;
    }
}

void ww_events_tick(void)
{
    for (size_t i = 0; i < N_OUTPUTS; i++)
        if (outputs[i]->q) ww_outq_flush_notice(outputs[i]->q);
}

uint64_t ww_events_dropped(void)
{
    uint64_t n = dropped_by_stopped;
    for (size_t i = 0; i < N_OUTPUTS; i++)
        if (outputs[i]->q) n += ww_outq_dropped(outputs[i]->q);
    return n;
}

/* --- what is said ---------------------------------------------------------- */

/* stderr already goes to the journal when $JOURNAL_STREAM names its device and
 * inode (systemd.exec(5)); printing there too would log everything twice. */
static int stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    if (!js) return 0;
    unsigned long long dev, ino;
    if (sscanf(js, "%llu:%llu", &dev, &ino) != 2) return 0;
    struct stat st;
    if (fstat(STDERR_FILENO, &st)) return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void ww_events_init(int journal)
{
    use_journal = journal;
    use_stderr = !(journal && stderr_is_journal());
}

void ww_log(int priority, const char *msgid, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (use_journal) {
        char rec[WW_OUTQ_MAX_RECORD];
        text t = TEXT(rec);
        text_field(&t, "MESSAGE=%s", msg);
        journal_common_fields(&t, priority, msgid);
        emit(&out_journal, &t);
    }
    if (use_stderr) {
        char rec[sizeof msg + 16];
        text t = TEXT(rec);
        text_add(&t, "wakewordd: %s\n", msg);
        emit(&out_stderr, &t);
    }
}

void ww_events_notify(const char *fmt, ...)
{
    char rec[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(rec, sizeof rec, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n + 1 >= sizeof rec || !getenv("NOTIFY_SOCKET")) return;
    text t = {rec, sizeof rec, (size_t)n + 1}; /* the NUL goes too */
    emit(&out_notify, &t);
}

void ww_events_detection(const ww_detection *d, uint64_t realtime_usec)
{
    char rec[WW_OUTQ_MAX_RECORD];
    if (use_journal) {
        text t = TEXT(rec);
        text_field(&t, "MESSAGE=wake word '%s' detected (score %.3f)", d->keyword, d->score);
        journal_common_fields(&t, LOG_NOTICE, WW_MSGID_DETECTED);
        text_field(&t, "WAKEWORD=%s", d->keyword);
        text_field(&t, "WAKEWORD_SCORE=%.6f", d->score);
        text_field(&t, "WAKEWORD_MODEL=%s", d->model);
        text_field(&t, "WAKEWORD_TIME_S=%.3f", d->time_s);
        text_field(&t, "WAKEWORD_TIMESTAMP_USEC=%llu", (unsigned long long)realtime_usec);
        emit(&out_journal, &t);
    }
    if (use_stderr) {
        text t = TEXT(rec);
        text_add(&t, "wakewordd: wake word '%s' detected (score %.3f, t=%.3f s)\n", d->keyword,
                 d->score, d->time_s);
        emit(&out_stderr, &t);
    }
}

void ww_events_json_detection(const ww_detection *d, uint64_t realtime_usec)
{
    char rec[WW_OUTQ_MAX_RECORD];
    text t = TEXT(rec);
    json_detection(&t, NULL, d, realtime_usec);
    if (t.len >= t.size) /* a cut line would not be JSON */
        ww_log(LOG_WARNING, NULL,
               "detection of '%.64s' not printed: its JSON line is over %zu bytes", d->keyword,
               t.size);
    else
        emit(&out_stdout, &t);
}

void ww_json_detection(FILE *fp, const char *file, const ww_detection *d, uint64_t realtime_usec)
{
    char small[1024];
    text t = TEXT(small);
    json_detection(&t, file, d, realtime_usec);
    if (t.len < t.size) {
        fputs(small, fp);
    } else { /* `detect`, not the daemon: it may allocate */
        text big = {malloc(t.len + 1), t.len + 1, 0};
        if (big.p) {
            json_detection(&big, file, d, realtime_usec);
            fputs(big.p, fp);
            free(big.p);
        }
    }
    fflush(fp);
}
