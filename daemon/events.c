#include "daemon/events.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

static int use_journal = 1, use_stderr = 1;

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
        if (msgid)
            sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", priority, "MESSAGE_ID=%s", msgid,
                            "SYSLOG_IDENTIFIER=wakewordd", NULL);
        else
            sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", priority,
                            "SYSLOG_IDENTIFIER=wakewordd", NULL);
    }
    if (use_stderr) {
        fprintf(stderr, "wakewordd: %s\n", msg);
        fflush(stderr);
    }
}

void ww_events_detection(const ww_detection *d, uint64_t realtime_usec)
{
    if (use_journal)
        sd_journal_send("MESSAGE=wake word '%s' detected (score %.3f)", d->keyword, d->score,
                        "PRIORITY=%d", LOG_NOTICE, "MESSAGE_ID=%s", WW_MSGID_DETECTED,
                        "SYSLOG_IDENTIFIER=wakewordd", "WAKEWORD=%s", d->keyword,
                        "WAKEWORD_SCORE=%.6f", d->score, "WAKEWORD_MODEL=%s", d->model,
                        "WAKEWORD_TIME_S=%.3f", d->time_s, "WAKEWORD_TIMESTAMP_USEC=%llu",
                        (unsigned long long)realtime_usec, NULL);
    if (use_stderr) {
        fprintf(stderr, "wakewordd: wake word '%s' detected (score %.3f, t=%.3f s)\n", d->keyword,
                d->score, d->time_s);
        fflush(stderr);
    }
}

void ww_json_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(fp, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", fp);
        else if (*p == '\t')
            fputs("\\t", fp);
        else if (*p < 0x20)
            fprintf(fp, "\\u%04x", *p);
        else
            fputc(*p, fp);
    }
    fputc('"', fp);
}

void ww_json_detection(FILE *fp, const char *file, const ww_detection *d, uint64_t realtime_usec)
{
    fputc('{', fp);
    if (file) {
        fputs("\"file\": ", fp);
        ww_json_string(fp, file);
        fputs(", ", fp);
    }
    fputs("\"keyword\": ", fp);
    ww_json_string(fp, d->keyword);
    fprintf(fp, ", \"score\": %.6f, \"time_s\": %.3f, \"model\": ", d->score, d->time_s);
    ww_json_string(fp, d->model);
    if (realtime_usec) fprintf(fp, ", \"timestamp_usec\": %llu", (unsigned long long)realtime_usec);
    fputs("}\n", fp);
    fflush(fp);
}
